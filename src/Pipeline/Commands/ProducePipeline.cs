using System.Threading.Tasks.Dataflow;
using EventPipeline.Models.Codec;
using EventPipeline.Stages;
using EventPipeline.Stages.Events;
using EventPipeline.Stages.Flow;
using EventPipeline.Stages.Partitioning;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Host.Commands;

/// <summary>
/// The composition root of <c>pipeline produce</c>: source (stdin lines or a Kafka topic) -> decode -> codec encode ->
/// <see cref="TopicProducer"/>, with decode failures to the dead-letter topic (or stderr).
/// </summary>
internal static class ProducePipeline
{
    private const int QueueCapacity = 8192;

    /// <summary>The stages between source and producer queue chunks of messages (up to 512 each).</summary>
    private static readonly int QueueChunks = QueueCapacity / KafkaSourceOptions.DefaultMaxChunkSize;

    /// <summary>Not ready until the model is loaded and the stages run.</summary>
    internal static HealthState NewHealthState() => new("loading the model and starting the stages");

    internal static CodecEncodeStageOptions EncodeOptions(CodecProduceRequest request) => new()
    {
        BoundedCapacity = QueueChunks,
        MaxBatchSize = request.MaxBatchSize,
        MaxBatchDelay = TimeSpan.FromMilliseconds(request.MaxBatchDelayMs),
    };

    /// <summary>source -> decode -> codec encode -> target topic; decode failures to the dead-letter topic (or stderr).</summary>
    /// <exception cref="CodecModelException">The model cannot be loaded; nothing was read.</exception>
    /// <exception cref="Configuration.ConfigurationException">The partitioner's model cannot be loaded; nothing was read.</exception>
    /// <param name="metrics">Null: a registry of its own (tests).</param>
    /// <param name="health">What /healthz and /readyz report, when they are served.</param>
    internal static async Task<CodecProduceSummary> RunAsync(CodecProduceRequest request, ILoggerFactory loggerFactory, CancellationTokenSource stop,
        PipelineMetrics? metrics = null, HealthState? health = null)
    {
        metrics ??= new PipelineMetrics(Prometheus.Metrics.NewCustomRegistry(), insertsIntoClickHouse: false);
        health ??= NewHealthState();
        var logger = loggerFactory.CreateLogger("EventPipeline.Produce");
        var decode = new DecodeStage(new DecodeStageOptions { BoundedCapacity = QueueChunks }, new EventDecoder(new EventDecoderOptions()), metrics);
        // A delivery that failed for good stops reading: its offset can never be committed, and what follows would pile up behind it.
        var failureReported = 0;
        var learnedPolicy = request.Partitioning?.Strategy == PartitionStrategy.Learned ? LearnedPartitioning.Load(request.PartitionerModelPath, request.Partitioning) : null;
        using var output = StartOutput(request, metrics, learnedPolicy, logger, error =>
        {
            if (Interlocked.Exchange(ref failureReported, 1) == 0)
                Console.Error.WriteLine($"produce to {request.Topic} failed: {error.Reason}; stopping");
            stop.Cancel();
        });
        ICodecModel codec = request.FeaturizerOnly ? EventCodec.Load(request.ModelDirectory, featurizerOnly: true) : CodecArtifact.LoadModel(request.ModelDirectory);
        // Envelopes go out keyed by app_id (TopicProducer), so the envelope need not carry it again.
        if (codec is EntropyCodec entropy)
            entropy.AppIdFromKey = !request.SelfContained;
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
            var read = await StdinLineReader.ReadLinesAsync(decode.Block, stop.Token).ConfigureAwait(false);
            decode.Block.Complete();
            await Task.WhenAll(output.Completion, stderr.Completion).ConfigureAwait(false);
            return Summary(output, read, Interlocked.Read(ref rejected));
        }

        var commits = new OffsetCommitStage(metrics, loggerFactory.CreateLogger<OffsetCommitStage>());
        var source = new KafkaSourceStage(new KafkaSourceOptions
            {
                BootstrapServers = request.BootstrapServers, Topic = request.FromTopic, GroupId = request.Group!, ClientProperties = request.ConsumerProperties,
            },
            commits, metrics, loggerFactory.CreateLogger<KafkaSourceStage>());
        using var deadLetter = new DeadLetterStage(
            new DeadLetterOptions { BootstrapServers = request.BootstrapServers, Topic = $"{request.FromTopic}.dlq", ClientProperties = request.DeadLetterProducerProperties },
            metrics, loggerFactory.CreateLogger<DeadLetterStage>());
        decode.LinkTo(encode.Input, deadLetter.Block);
        _ = decode.Block.Completion.ContinueWith(_ => deadLetter.Block.Complete(), TaskScheduler.Default);
        health.Watch(deadLetter.Block.Completion, DeadLetterStage.StageName, logger);
        ExportQueueDepths(metrics, decode, encode, output, deadLetter);
        health.SetReady();
        using var drainTimeout = new CancellationTokenSource();
        using var onStop = stop.Token.Register(() => drainTimeout.CancelAfter(TimeSpan.FromSeconds(ProduceCommand.DrainTimeoutSeconds)));
        await source.RunAsync(decode.Block, () => Task.WhenAll(output.Completion, deadLetter.Completion), stop.Token, drainTimeout.Token).ConfigureAwait(false);
        return Summary(output, source.Consumed, deadLetter.Acknowledged);
    }

    /// <exception cref="Configuration.ConfigurationException">The partitioner needs the topic's partition count and cannot get it.</exception>
    private static TopicProducer StartOutput(CodecProduceRequest request, PipelineMetrics metrics, IFanOutPolicy? learnedPolicy, ILogger logger, Action<Confluent.Kafka.Error> onFailure)
    {
        try
        {
            return new TopicProducer(request.BootstrapServers, request.Topic, request.EnvelopeProducerProperties, QueueCapacity, metrics, onFailure,
                request.Partitioning, learnedPolicy,
                ex => logger.LogError(ex, "Partitioner policy failed; partitioning falls back to Partial Key Grouping for the rest of this run"));
        }
        catch (Exception ex) when (ex is InvalidOperationException or Confluent.Kafka.KafkaException)
        {
            throw new Configuration.ConfigurationException($"--topic {request.Topic}: the partitioner needs its partition count: {ex.Message}", ex);
        }
    }

    private static CodecProduceSummary Summary(TopicProducer output, long read, long deadLettered) =>
        new(read, output.Coded, output.Uncoded, deadLettered, output.BytesIn, output.BytesOut, output.Failed);

    /// <summary>Sampled at each scrape, as the worker does: a queue that stays full names the stage that holds the others back.</summary>
    private static void ExportQueueDepths(PipelineMetrics metrics, DecodeStage decode, CodecEncodeStage encode, TopicProducer output, DeadLetterStage? deadLetter) =>
        metrics.Registry.AddBeforeCollectCallback(() =>
        {
            metrics.StageQueueDepth.WithLabels(DecodeStage.StageName).Set(decode.Block.InputCount);
            metrics.StageQueueDepth.WithLabels(CodecEncodeStage.StageName).Set(encode.QueuedChunks);
            metrics.StageQueueDepth.WithLabels(TopicProducer.StageName).Set(output.Block.InputCount);
            if (deadLetter is not null)
                metrics.StageQueueDepth.WithLabels(DeadLetterStage.StageName).Set(deadLetter.Block.InputCount);
        });
}
