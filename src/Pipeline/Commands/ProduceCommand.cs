using System.Buffers;
using System.CommandLine;
using System.IO.Pipelines;
using System.Text;
using System.Threading.Tasks.Dataflow;
using Confluent.Kafka;
using EventPipeline.Host.Configuration;
using EventPipeline.Models.Codec;
using EventPipeline.Stages;
using EventPipeline.Stages.Events;
using EventPipeline.Stages.Flow;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Host.Commands;

/// <param name="FromTopic">Null: JSON lines from stdin.</param>
/// <param name="FeaturizerOnly">Mode-0 envelopes: the featurizer without the network (a few bytes more, much less CPU).</param>
/// <param name="KafkaProperties">Kafka:Properties:* from the configuration: all go to the source consumer; the security ones
/// (security.*, sasl.*, ssl.*) also to the two producers.</param>
internal sealed record CodecProduceRequest(string BootstrapServers, string Topic, string ModelDirectory, string? FromTopic, string? Group,
    int MaxBatchSize, int MaxBatchDelayMs, bool FeaturizerOnly = false, IReadOnlyDictionary<string, string>? KafkaProperties = null)
{
    public IReadOnlyDictionary<string, string> ConsumerProperties => KafkaProperties ?? new Dictionary<string, string>();

    public IReadOnlyDictionary<string, string> ProducerProperties => KafkaSecurityProperties.Select(ConsumerProperties);
}

/// <param name="BytesIn">Input bytes of the events that were sent (dead-lettered input is not counted).</param>
internal sealed record CodecProduceSummary(long Read, long Coded, long Uncoded, long DeadLettered, long BytesIn, long BytesOut, long NotAcknowledged);

/// <summary>
/// <c>pipeline produce</c>: a producer pod for the learned codec. Raw JSON events (stdin lines, or a Kafka topic read
/// as a consumer group) are decoded, encoded a micro-batch per forward pass and produced to the target topic, keyed by
/// app_id. From Kafka it is at-least-once: a source offset is committed only once its coded event (or its dead
/// letter) was acknowledged, so a crash re-sends the uncommitted tail and never loses an event.
/// </summary>
internal static class ProduceCommand
{
    private const int QueueCapacity = 8192;

    private const string NotStarted = "loading the model and starting the stages";

    /// <summary>How long SIGTERM waits for acknowledgements of what was read; a pod's grace period must exceed it.</summary>
    internal const int DrainTimeoutSeconds = 30;

    public static Command Create()
    {
        var stdin = new Option<bool>("--stdin") { Description = "Read JSON lines from standard input until it ends." };
        var fromTopic = new Option<string?>("--from-topic") { Description = "Read raw JSON events from this topic (with --group) until SIGTERM; undecodable ones go to <topic>.dlq." };
        var group = new Option<string?>("--group") { Description = "Consumer group for --from-topic." };
        var topic = new Option<string?>("--topic") { Description = "Where the coded events go." };
        var model = new Option<string?>("--model") { Description = "Codec artifact directory (codec.json + codec.weights)." };
        var bootstrap = new Option<string?>("--bootstrap-servers") { Description = "Brokers (default: Kafka:BootstrapServers)." };
        var maxBatchSize = new Option<int>("--max-batch-size") { Description = "Events encoded in one forward pass, at most.", DefaultValueFactory = _ => 4096 };
        var maxBatchDelay = new Option<int>("--max-batch-delay-ms") { Description = "How long the first event of a batch waits for more.", DefaultValueFactory = _ => 5 };
        var featurizerOnly = new Option<bool>("--featurizer-only") { Description = "Write mode-0 envelopes (featurizer, no network): a few bytes more per event, far less CPU. Any worker holding the model decodes them." };
        var command = new Command("produce", "Encode JSON events with a learned codec model and produce them to a topic (acks=all, idempotent, keyed by app_id).")
        {
            stdin, fromTopic, group, topic, model, bootstrap, maxBatchSize, maxBatchDelay, featurizerOnly,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, cancellationToken) =>
        {
            var configuration = PipelineSettings.BuildConfiguration(parse.UnmatchedTokens);
            var (request, fromStdin) = ReadRequest(parse, configuration);
            if (Check(request, fromStdin) is { } problem)
            {
                await Console.Error.WriteLineAsync($"configuration error: {problem}").ConfigureAwait(false);
                return 2;
            }
            using var loggerFactory = Logging.Create(configuration);
            using var shutdown = new ShutdownSignal();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, shutdown.Token);
            // The default registry, as the worker's: it carries the process metrics (restarts, memory) the alerts use.
            var metrics = new PipelineMetrics(insertsIntoClickHouse: false);
            var health = new HealthState(NotStarted);
            MetricsEndpoint? endpoint;
            try
            {
                endpoint = await StartMetricsAsync(MetricsSettingsFor(configuration, request), metrics, health, loggerFactory, stop.Token).ConfigureAwait(false);
            }
            catch (ConfigurationException ex)
            {
                await Console.Error.WriteLineAsync($"configuration error: {ex.Message}").ConfigureAwait(false);
                return 2;
            }
            CodecProduceSummary summary;
            try
            {
                summary = await RunAsync(request, loggerFactory, stop, metrics, health).ConfigureAwait(false);
            }
            catch (CodecModelException ex)
            {
                await Console.Error.WriteLineAsync($"configuration error: --model: {ex.Message}").ConfigureAwait(false);
                return 2;
            }
            finally
            {
                if (endpoint is not null)
                    await endpoint.DisposeAsync().ConfigureAwait(false);
            }
            Console.WriteLine($"read={summary.Read} coded={summary.Coded} uncoded={summary.Uncoded} dead_lettered={summary.DeadLettered} " +
                $"bytes_in={summary.BytesIn} bytes_out={summary.BytesOut} not_acknowledged={summary.NotAcknowledged}");
            return summary.NotAcknowledged > 0 || (request.FromTopic is null && summary.DeadLettered > 0) ? 1 : 0;
        });
        return command;
    }

    /// <summary>
    /// The request a parsed command line and the configuration describe (the options by name, so that the manifests'
    /// tests read a pod's arguments exactly as the command does).
    /// </summary>
    internal static (CodecProduceRequest Request, bool Stdin) ReadRequest(ParseResult parse, IConfiguration configuration) => (new(
        parse.GetValue<string?>("--bootstrap-servers") ?? configuration["Kafka:BootstrapServers"] ?? "", parse.GetValue<string?>("--topic") ?? "",
        parse.GetValue<string?>("--model") ?? "", parse.GetValue<string?>("--from-topic"), parse.GetValue<string?>("--group"),
        parse.GetValue<int>("--max-batch-size"), parse.GetValue<int>("--max-batch-delay-ms"), parse.GetValue<bool>("--featurizer-only"),
        PipelineSettings.ReadKafkaProperties(configuration)),
        parse.GetValue<bool>("--stdin"));

    internal static string? Check(CodecProduceRequest request, bool stdin)
    {
        if (stdin == request.FromTopic is not null)
            return "give exactly one input: --stdin or --from-topic";
        if (request.FromTopic is not null && string.IsNullOrWhiteSpace(request.Group))
            return "--from-topic needs --group";
        if (string.IsNullOrWhiteSpace(request.Topic))
            return "--topic is required";
        if (string.IsNullOrWhiteSpace(request.ModelDirectory))
            return "--model is required";
        if (string.IsNullOrWhiteSpace(request.BootstrapServers))
            return "--bootstrap-servers (or Kafka:BootstrapServers) is required";
        try
        {
            EncodeOptions(request).Validate();
        }
        catch (ArgumentOutOfRangeException ex)
        {
            return ex.Message;
        }
        return null;
    }

    /// <summary>
    /// Metrics:Port and Metrics:Host, read as the worker reads them. From a topic, produce is a long-running pod and
    /// serves /metrics, /healthz and /readyz on the worker's default port; from stdin it is a one-off run, often beside a
    /// worker on the same machine, so it serves them only when Metrics:Port is given.
    /// </summary>
    internal static MetricsSettings MetricsSettingsFor(IConfiguration configuration, CodecProduceRequest request)
    {
        var settings = new MetricsSettings();
        if (request.FromTopic is null && configuration["Metrics:Port"] is null)
            settings.Port = 0;
        try
        {
            configuration.GetSection("Metrics").Bind(settings, options => options.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException ex)
        {
            throw new ConfigurationException($"Invalid configuration: {ex.Message}", ex); // the binder names the key
        }
        if (settings.Port is < 0 or > 65535)
            throw new ConfigurationException($"Metrics:Port {settings.Port} must be between 0 and 65535");
        return settings;
    }

    private static async Task<MetricsEndpoint?> StartMetricsAsync(MetricsSettings settings, PipelineMetrics metrics, HealthState health,
        ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        if (settings.Port == 0)
            return null;
        MetricsEndpoint endpoint;
        try
        {
            endpoint = await MetricsEndpoint.StartAsync(settings.Host, settings.Port, metrics.Registry, health,
                loggerFactory, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw new ConfigurationException($"Metrics:Host/Metrics:Port {settings.Host}:{settings.Port} cannot be served: {ex.Message}", ex);
        }
        loggerFactory.CreateLogger("pipeline").LogInformation("Metrics on http://{Host}:{Port}/metrics", settings.Host, endpoint.Port);
        return endpoint;
    }

    private static CodecEncodeStageOptions EncodeOptions(CodecProduceRequest request) => new()
    {
        BoundedCapacity = QueueCapacity,
        MaxBatchSize = request.MaxBatchSize,
        MaxBatchDelay = TimeSpan.FromMilliseconds(request.MaxBatchDelayMs),
    };

    /// <summary>source -> decode -> codec encode -> target topic; decode failures to the dead-letter topic (or stderr).</summary>
    /// <exception cref="CodecModelException">The model cannot be loaded; nothing was read.</exception>
    /// <param name="metrics">Null: a registry of its own (tests).</param>
    /// <param name="health">What /healthz and /readyz report, when they are served.</param>
    internal static async Task<CodecProduceSummary> RunAsync(CodecProduceRequest request, ILoggerFactory loggerFactory, CancellationTokenSource stop,
        PipelineMetrics? metrics = null, HealthState? health = null)
    {
        metrics ??= new PipelineMetrics(Prometheus.Metrics.NewCustomRegistry(), insertsIntoClickHouse: false);
        health ??= new HealthState(NotStarted);
        var logger = loggerFactory.CreateLogger("EventPipeline.Produce");
        var decode = new DecodeStage(new DecodeStageOptions { BoundedCapacity = QueueCapacity }, new EventDecoder(new EventDecoderOptions()), metrics);
        // A delivery that failed for good stops reading: its offset can never be committed, and what follows would pile up behind it.
        using var output = new TopicProducer(request.BootstrapServers, request.Topic, request.ProducerProperties, metrics, () => stop.Cancel());
        var codec = EventCodec.Load(request.ModelDirectory, request.FeaturizerOnly);
        var encode = new CodecEncodeStage(EncodeOptions(request), codec, metrics);
        encode.Start(output.Block);
        // Freed once the encode loop has ended, never under it: after a drain timeout it may still be encoding.
        _ = encode.Completion.ContinueWith(_ => codec.Dispose(), TaskScheduler.Default);
        health.Watch(decode.Block.Completion, DecodeStage.StageName, logger);
        health.Watch(encode.Completion, CodecEncodeStage.StageName, logger);
        health.Watch(output.Block.Completion, TopicProducer.StageName, logger);

        if (request.FromTopic is null)
        {
            long rejected = 0;
            var stderr = new ActionBlock<PipelineMessage>(async message =>
            {
                Interlocked.Increment(ref rejected);
                await Console.Error.WriteLineAsync($"line {message.Offset}: {message.Failure!.Kind}: {message.Failure.Detail}").ConfigureAwait(false);
                message.Complete();
            }, new ExecutionDataflowBlockOptions { BoundedCapacity = QueueCapacity });
            decode.LinkTo(encode.Input, stderr);
            _ = decode.Block.Completion.ContinueWith(_ => stderr.Complete(), TaskScheduler.Default);
            ExportQueueDepths(metrics, decode, encode, output, null);
            health.SetReady();
            var read = await ReadLinesAsync(decode.Block, stop.Token).ConfigureAwait(false);
            decode.Block.Complete();
            await Task.WhenAll(output.Completion, stderr.Completion).ConfigureAwait(false);
            return output.Summary(read, Interlocked.Read(ref rejected));
        }

        var commits = new OffsetCommitStage(metrics, loggerFactory.CreateLogger<OffsetCommitStage>());
        var source = new KafkaSourceStage(new KafkaSourceOptions
            {
                BootstrapServers = request.BootstrapServers, Topic = request.FromTopic, GroupId = request.Group!, ClientProperties = request.ConsumerProperties,
            },
            commits, metrics, loggerFactory.CreateLogger<KafkaSourceStage>());
        using var deadLetter = new DeadLetterStage(
            new DeadLetterOptions { BootstrapServers = request.BootstrapServers, Topic = $"{request.FromTopic}.dlq", ClientProperties = request.ProducerProperties },
            metrics, loggerFactory.CreateLogger<DeadLetterStage>());
        decode.LinkTo(encode.Input, deadLetter.Block);
        _ = decode.Block.Completion.ContinueWith(_ => deadLetter.Block.Complete(), TaskScheduler.Default);
        health.Watch(deadLetter.Block.Completion, DeadLetterStage.StageName, logger);
        ExportQueueDepths(metrics, decode, encode, output, deadLetter);
        health.SetReady();
        using var drainTimeout = new CancellationTokenSource();
        using var onStop = stop.Token.Register(() => drainTimeout.CancelAfter(TimeSpan.FromSeconds(DrainTimeoutSeconds)));
        await source.RunAsync(decode.Block, () => Task.WhenAll(output.Completion, deadLetter.Completion), stop.Token, drainTimeout.Token).ConfigureAwait(false);
        return output.Summary(source.Consumed, deadLetter.Acknowledged);
    }

    /// <summary>Sampled at each scrape, as the worker does: a queue that stays full names the stage that holds the others back.</summary>
    private static void ExportQueueDepths(PipelineMetrics metrics, DecodeStage decode, CodecEncodeStage encode, TopicProducer output, DeadLetterStage? deadLetter) =>
        metrics.Registry.AddBeforeCollectCallback(() =>
        {
            metrics.StageQueueDepth.WithLabels(DecodeStage.StageName).Set(decode.Block.InputCount);
            metrics.StageQueueDepth.WithLabels(CodecEncodeStage.StageName).Set(encode.QueuedMessages);
            metrics.StageQueueDepth.WithLabels(TopicProducer.StageName).Set(output.Block.InputCount);
            if (deadLetter is not null)
                metrics.StageQueueDepth.WithLabels(DeadLetterStage.StageName).Set(deadLetter.Block.InputCount);
        });

    /// <summary>
    /// Sends each line's raw bytes (no re-encoding: invalid UTF-8 stays visible to the decoder), numbered from 1 as if
    /// they were the offsets of a one-partition source, so that both inputs share the stages.
    /// </summary>
    private static async Task<long> ReadLinesAsync(ITargetBlock<PipelineMessage> target, CancellationToken stop)
    {
        var lease = new PartitionLease(new TopicPartition("stdin", 0));
        var reader = PipeReader.Create(Console.OpenStandardInput());
        long lineNumber = 0, read = 0;
        async Task<bool> SendAsync(ReadOnlySequence<byte> line)
        {
            lineNumber++;
            if (line.Length > 0 && line.Slice(line.Length - 1).FirstSpan[0] == '\r')
                line = line.Slice(0, line.Length - 1);
            if (line.IsEmpty)
                return true;
            var message = new PipelineMessage(lease, lineNumber, lease.Offsets.Register(lineNumber), null, line.ToArray(), null,
                DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            if (!await target.SendAsync(message, stop).ConfigureAwait(false))
                return false;
            read++;
            return true;
        }

        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(stop).ConfigureAwait(false);
                var buffer = result.Buffer;
                while (buffer.PositionOf((byte)'\n') is { } end)
                {
                    if (!await SendAsync(buffer.Slice(0, end)).ConfigureAwait(false))
                        return read;
                    buffer = buffer.Slice(buffer.GetPosition(1, end));
                }
                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty)
                        await SendAsync(buffer).ConfigureAwait(false);
                    return read;
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return read; // SIGTERM: what was read is still sent
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Produces encoded events to the target topic, keyed by app_id, acks=all and idempotent; a message's source is
    /// completed (its offset may be committed) only once the broker acknowledged it.
    /// </summary>
    private sealed class TopicProducer : IDisposable
    {
        /// <summary>The stage label of its metrics: ok counts events the target topic acknowledged, failed those it never will.</summary>
        public const string StageName = "produce";

        private const int MaxInFlight = 50_000; // below librdkafka's 100,000-message queue: Produce never meets a full queue

        private readonly string _topic;
        private readonly Action _onFailure;
        private readonly IProducer<byte[], byte[]> _producer;
        private readonly SemaphoreSlim _inFlight = new(MaxInFlight, MaxInFlight);
        private readonly Prometheus.Counter.Child _acknowledged;
        private readonly Prometheus.Counter.Child _failedCounter;
        private long _coded, _uncoded, _bytesIn, _bytesOut, _failed;

        public TopicProducer(string bootstrapServers, string topic, IReadOnlyDictionary<string, string> clientProperties, PipelineMetrics metrics, Action onFailure)
        {
            _topic = topic;
            _onFailure = onFailure;
            // Created now, at zero: "nothing produced" must be a series at 0 for the alert, not a missing one.
            _acknowledged = metrics.StageMessages.WithLabels(StageName, "ok");
            _failedCounter = metrics.StageMessages.WithLabels(StageName, "failed");
            var config = new ProducerConfig
            {
                BootstrapServers = bootstrapServers,
                Acks = Acks.All,
                EnableIdempotence = true,
                LingerMs = 5,
                ClientId = $"event-pipeline-produce-{Environment.MachineName}",
            };
            foreach (var (key, value) in clientProperties)
                config.Set(key, value);
            _producer = new ProducerBuilder<byte[], byte[]>(config).Build();
            Block = new ActionBlock<EncodedMessage>(ProduceAsync, new ExecutionDataflowBlockOptions { BoundedCapacity = QueueCapacity });
            Completion = Block.Completion.ContinueWith(_ => WaitForAcknowledgementsAsync(), TaskScheduler.Default).Unwrap();
        }

        public ActionBlock<EncodedMessage> Block { get; }

        /// <summary>Completes when the block completed and every message it took was acknowledged or failed for good.</summary>
        public Task Completion { get; }

        public CodecProduceSummary Summary(long read, long deadLettered) => new(read, Interlocked.Read(ref _coded), Interlocked.Read(ref _uncoded),
            deadLettered, Interlocked.Read(ref _bytesIn), Interlocked.Read(ref _bytesOut), Interlocked.Read(ref _failed));

        private async Task ProduceAsync(EncodedMessage message)
        {
            if (message.Source.Lease.IsRevoked)
                return; // its partition's new owner reads it again
            await _inFlight.WaitAsync().ConfigureAwait(false);
            var key = Encoding.UTF8.GetBytes(message.Source.Event!.AppId);
            _producer.Produce(_topic, new Message<byte[], byte[]> { Key = key, Value = message.Payload }, report => OnDelivered(message, report));
        }

        private void OnDelivered(EncodedMessage message, DeliveryReport<byte[], byte[]> report)
        {
            if (report.Error.IsError)
            {
                // librdkafka already retried for message.timeout.ms; the source offset stays uncommitted (re-read on restart).
                _failedCounter.Inc();
                if (Interlocked.Increment(ref _failed) == 1)
                    Console.Error.WriteLine($"produce to {_topic} failed: {report.Error.Reason}; stopping");
                _onFailure();
            }
            else
            {
                Interlocked.Increment(ref message.Coded ? ref _coded : ref _uncoded);
                Interlocked.Add(ref _bytesIn, message.Source.Value.Length);
                Interlocked.Add(ref _bytesOut, message.Payload.Length);
                _acknowledged.Inc();
                message.Source.Complete();
            }
            _inFlight.Release();
        }

        private async Task WaitForAcknowledgementsAsync()
        {
            for (var i = 0; i < MaxInFlight; i++)
                await _inFlight.WaitAsync().ConfigureAwait(false);
            _inFlight.Release(MaxInFlight);
        }

        public void Dispose()
        {
            _producer.Flush(TimeSpan.FromSeconds(5));
            _producer.Dispose();
        }
    }
}
