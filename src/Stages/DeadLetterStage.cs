using System.Globalization;
using System.Text;
using System.Threading.Tasks.Dataflow;
using Confluent.Kafka;
using EventPipeline.Stages.Flow;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Stages;

public sealed record DeadLetterOptions
{
    public required string BootstrapServers { get; init; }

    /// <summary>The dead-letter topic (DeadLetter:Topic, default "&lt;Kafka:Topic&gt;.dlq").</summary>
    public required string Topic { get; init; }

    /// <summary>Any librdkafka producer property (DeadLetter:Properties:*), e.g. security settings.</summary>
    public IReadOnlyDictionary<string, string> ClientProperties { get; init; } = new Dictionary<string, string>();

    /// <summary>Dead letters produced but not yet acknowledged, at most.</summary>
    public int MaxInFlight { get; init; } = 10_000;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Topic))
            throw new ArgumentException("DeadLetter:Topic must not be empty", "DeadLetter:Topic");
        if (MaxInFlight < 1)
            throw new ArgumentOutOfRangeException("DeadLetter:MaxInFlight", MaxInFlight, "must be at least 1");
    }
}

/// <summary>
/// Stage 6: produces rejected messages, byte for byte, to the dead-letter topic with headers saying which stage
/// rejected them, why, and where they came from. A message's offset counts as done only once the broker has
/// acknowledged its dead letter; a failed produce is retried, never dropped.
/// </summary>
public sealed class DeadLetterStage : IDisposable
{
    public const string StageName = "dead_letter";

    public const string StageHeader = "pipeline.stage";
    public const string ReasonHeader = "pipeline.reason";
    public const string KindHeader = "pipeline.reason.kind";
    public const string TopicHeader = "pipeline.source.topic";
    public const string PartitionHeader = "pipeline.source.partition";
    public const string OffsetHeader = "pipeline.source.offset";

    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(500);

    private readonly DeadLetterOptions _options;
    private readonly PipelineMetrics _metrics;
    private readonly ILogger _logger;
    private readonly IProducer<byte[]?, byte[]> _producer;
    private readonly SemaphoreSlim _inFlight;
    private long _acknowledged;

    public DeadLetterStage(DeadLetterOptions options, PipelineMetrics metrics, ILogger<DeadLetterStage> logger)
    {
        options.Validate();
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _inFlight = new SemaphoreSlim(options.MaxInFlight, options.MaxInFlight);
        var config = new ProducerConfig
        {
            BootstrapServers = options.BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = 5,
            // Unkeyed dead letters spread over all partitions instead of bursting into one (librdkafka's sticky default).
            StickyPartitioningLingerMs = 0,
            ClientId = $"event-pipeline-dlq-{Environment.MachineName}",
        };
        foreach (var (key, value) in options.ClientProperties)
            config.Set(key, value);
        _producer = new ProducerBuilder<byte[]?, byte[]>(config)
            .SetErrorHandler((_, error) => _logger.LogWarning("Dead-letter producer error: {Reason}", error.Reason))
            .Build();
        Block = new ActionBlock<PipelineMessage>(ProduceAsync, new ExecutionDataflowBlockOptions { BoundedCapacity = 1024 });
        Completion = Block.Completion.ContinueWith(_ => WaitForAcknowledgementsAsync(), TaskScheduler.Default).Unwrap();
    }

    public ActionBlock<PipelineMessage> Block { get; }

    /// <summary>Completes when the block completed and every dead letter it took was acknowledged.</summary>
    public Task Completion { get; }

    public long Acknowledged => Interlocked.Read(ref _acknowledged);

    private async Task ProduceAsync(PipelineMessage message)
    {
        if (message.Lease.IsRevoked)
        {
            _metrics.StageMessages.WithLabels(StageName, "dropped_revoked").Inc();
            return;
        }
        await _inFlight.WaitAsync().ConfigureAwait(false);
        Produce(message, BuildMessage(message));
    }

    private void Produce(PipelineMessage source, Message<byte[]?, byte[]> deadLetter)
    {
        try
        {
            _producer.Produce(_options.Topic, deadLetter, report => OnDelivered(source, deadLetter, report));
        }
        catch (ProduceException<byte[]?, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
        {
            RetryLater(source, deadLetter);
        }
    }

    private void OnDelivered(PipelineMessage source, Message<byte[]?, byte[]> deadLetter, DeliveryReport<byte[]?, byte[]> report)
    {
        if (report.Error.IsError)
        {
            _metrics.StageMessages.WithLabels(StageName, "retried").Inc();
            _logger.LogWarning("Dead letter for {Partition}@{Offset} not acknowledged ({Reason}); retrying",
                source.Lease.Partition, source.Offset, report.Error.Reason);
            RetryLater(source, deadLetter);
            return;
        }
        source.Complete();
        Interlocked.Increment(ref _acknowledged);
        _metrics.DeadLetters.WithLabels(source.Failure!.Kind).Inc();
        _metrics.StageMessages.WithLabels(StageName, "ok").Inc();
        _inFlight.Release();
    }

    private void RetryLater(PipelineMessage source, Message<byte[]?, byte[]> deadLetter) =>
        _ = Task.Delay(RetryDelay).ContinueWith(_ => Produce(source, deadLetter), TaskScheduler.Default);

    private static Message<byte[]?, byte[]> BuildMessage(PipelineMessage message)
    {
        var headers = new Headers();
        if (message.Headers is not null)
        {
            foreach (var header in message.Headers)
                headers.Add(header.Key, header.GetValueBytes());
        }
        var failure = message.Failure!;
        headers.Add(StageHeader, Encoding.UTF8.GetBytes(failure.Stage));
        headers.Add(KindHeader, Encoding.UTF8.GetBytes(failure.Kind));
        headers.Add(ReasonHeader, Encoding.UTF8.GetBytes(failure.Detail));
        headers.Add(TopicHeader, Encoding.UTF8.GetBytes(message.Lease.Partition.Topic));
        headers.Add(PartitionHeader, Encoding.UTF8.GetBytes(message.Lease.Partition.Partition.Value.ToString(CultureInfo.InvariantCulture)));
        headers.Add(OffsetHeader, Encoding.UTF8.GetBytes(message.Offset.ToString(CultureInfo.InvariantCulture)));
        return new Message<byte[]?, byte[]> { Key = message.Key, Value = message.Value, Headers = headers };
    }

    private async Task WaitForAcknowledgementsAsync()
    {
        // Every permit back means every dead letter was acknowledged (failed ones keep their permit while retried).
        for (var i = 0; i < _options.MaxInFlight; i++)
            await _inFlight.WaitAsync().ConfigureAwait(false);
        _inFlight.Release(_options.MaxInFlight);
    }

    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(5));
        _producer.Dispose();
    }
}
