using System.CommandLine;
using Confluent.Kafka;
using EventPipeline.Host.Configuration;
using EventPipeline.Models.Codec;
using EventPipeline.Stages;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Host.Commands;

/// <summary>
/// <c>pipeline produce</c>: a producer pod for the learned codec. Raw JSON events (stdin lines, or a Kafka topic read
/// as a consumer group) are decoded, encoded a micro-batch per forward pass and produced to the target topic, keyed by
/// app_id. From Kafka it is at-least-once: a source offset is committed only once its coded event (or its dead
/// letter) was acknowledged, so a crash re-sends the uncommitted tail and never loses an event. This class is the
/// command line (options, checks, the metrics endpoint); <see cref="ProducePipeline"/> runs the stages.
/// </summary>
internal static class ProduceCommand
{
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
        var selfContained = new Option<bool>("--self-contained")
        {
            Description = "With a count model: envelopes carry app_id themselves (mode 2) instead of taking it from the record key (mode 3, the default). " +
                          "For consumers older than mode 3, or a path that does not keep record keys.",
        };
        var partitioner = PartitionerOption.Create();
        var featurizerOnly = new Option<bool>("--featurizer-only") { Description = "Write mode-0 envelopes (featurizer, no network): a few bytes more per event, far less CPU. Any worker holding the model decodes them." };
        var command = new Command("produce", "Encode JSON events with a learned codec model and produce them to a topic (acks=all, idempotent, keyed by app_id).")
        {
            stdin, fromTopic, group, topic, model, bootstrap, maxBatchSize, maxBatchDelay, featurizerOnly, selfContained, partitioner,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, cancellationToken) =>
        {
            var configuration = PipelineSettings.BuildConfiguration(parse.UnmatchedTokens);
            CodecProduceRequest request;
            bool fromStdin;
            try
            {
                (request, fromStdin) = ReadRequest(parse, configuration);
            }
            catch (ConfigurationException ex)
            {
                await Console.Error.WriteLineAsync($"configuration error: {ex.Message}").ConfigureAwait(false);
                return 2;
            }
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
            var health = ProducePipeline.NewHealthState();
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
                summary = await ProducePipeline.RunAsync(request, loggerFactory, stop, metrics, health).ConfigureAwait(false);
            }
            catch (CodecModelException ex)
            {
                await Console.Error.WriteLineAsync($"configuration error: --model: {ex.Message}").ConfigureAwait(false);
                return 2;
            }
            catch (ConfigurationException ex)
            {
                await Console.Error.WriteLineAsync($"configuration error: {ex.Message}").ConfigureAwait(false);
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
    /// <exception cref="ConfigurationException">--partitioner or Partitioning:* is invalid; the message names the key.</exception>
    internal static (CodecProduceRequest Request, bool Stdin) ReadRequest(ParseResult parse, IConfiguration configuration)
    {
        var (partitioning, partitioningSettings) = PartitioningSettings.Read(configuration, parse.GetValue<string?>(PartitionerOption.Name), PartitionerOption.DefaultStrategy);
        return (new(
            parse.GetValue<string?>("--bootstrap-servers") ?? configuration["Kafka:BootstrapServers"] ?? "", parse.GetValue<string?>("--topic") ?? "",
            parse.GetValue<string?>("--model") ?? "", parse.GetValue<string?>("--from-topic"), parse.GetValue<string?>("--group"),
            parse.GetValue<int>("--max-batch-size"), parse.GetValue<int>("--max-batch-delay-ms"), parse.GetValue<bool>("--featurizer-only"),
            PipelineSettings.ReadKafkaProperties(configuration), partitioning, partitioningSettings.ModelPath, parse.GetValue<bool>("--self-contained"),
            PipelineSettings.ReadClientProperties(configuration, "Produce:Properties")),
            parse.GetValue<bool>("--stdin"));
    }

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
            ProducePipeline.EncodeOptions(request).Validate();
        }
        catch (ArgumentOutOfRangeException ex)
        {
            return ex.Message;
        }
        foreach (var key in request.ProduceProperties?.Keys ?? [])
        {
            if (CodecProduceRequest.ReservedProduceProperties.Contains(key, StringComparer.Ordinal))
                return $"Produce:Properties:{key} cannot be set: envelopes are produced with acks=all and idempotence, so that an acknowledged source offset is never lost";
        }
        return CheckEnvelopeProducer(request);
    }

    /// <summary>librdkafka refuses an unknown key or a bad value only when a client is built: build one now, not deep in a stage.</summary>
    private static string? CheckEnvelopeProducer(CodecProduceRequest request)
    {
        try
        {
            PipelineSettings.CheckClientProperties("Produce:Properties", request.ProduceProperties ?? new Dictionary<string, string>(), properties =>
            {
                var config = TopicProducer.CreateConfig(request.BootstrapServers, (request with { ProduceProperties = properties }).EnvelopeProducerProperties);
                using var producer = new ProducerBuilder<byte[], byte[]>(config).Build();
            });
            return null;
        }
        catch (ConfigurationException ex)
        {
            return ex.Message;
        }
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
}
