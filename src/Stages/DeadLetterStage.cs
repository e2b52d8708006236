using System.Globalization;
using System.Text;
using System.Threading.Channels;
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

    /// <summary>
    /// The largest message the decoder passes on (Decode:MaxMessageBytes): anything larger is refused as oversize and
    /// must still fit in its dead letter, so the producer's message.max.bytes is raised to this plus the headers
    /// unless DeadLetter:Properties sets it.
    /// </summary>
    public int MaxMessageBytes { get; init; } = 1_048_576;

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
/// acknowledged its dead letter; a failed produce is retried, never dropped. A dead letter too large for the producer
/// or the broker is sent again with its value cut short and a header saying how long it was: an oversize message must
/// never wedge its partition.
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

    /// <summary>The source record's timestamp (ms): a replay restores it, since format-2 codec envelopes are coded against it.</summary>
    public const string TimestampHeader = "pipeline.source.timestamp";

    /// <summary>On a dead letter whose value was cut to fit: the original value's length in bytes.</summary>
    public const string TruncatedHeader = "pipeline.truncated.original_bytes";

    /// <summary>Room for the pipeline's headers and the message's own on top of the largest value the decoder passes on.</summary>
    private const int HeaderAllowance = 256 * 1024;

    /// <summary>librdkafka's own default for message.max.bytes; also where truncation starts when the broker refuses.</summary>
    private const int DefaultMessageMaxBytes = 1_000_000;

    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(500);

    private readonly DeadLetterOptions _options;
    private readonly PipelineMetrics _metrics;
    private readonly ILogger _logger;
    private readonly IProducer<byte[]?, byte[]> _producer;
    private readonly InFlightLimit _inFlight;
    private readonly Channel<(PipelineMessage Source, Message<byte[]?, byte[]> DeadLetter, DateTime NotBefore)> _retries =
        Channel.CreateUnbounded<(PipelineMessage, Message<byte[]?, byte[]>, DateTime)>();
    private readonly CancellationTokenSource _disposing = new();
    private readonly Task _retryLoop;
    private readonly int _messageMaxBytes;
    private long _acknowledged;

    public DeadLetterStage(DeadLetterOptions options, PipelineMetrics metrics, ILogger<DeadLetterStage> logger)
    {
        options.Validate();
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _inFlight = new InFlightLimit(options.MaxInFlight);
        var config = ReliableProducerConfig.Create(options.BootstrapServers, "dlq", options.ClientProperties, tune: c =>
        {
            // Unkeyed dead letters spread over all partitions instead of bursting into one (librdkafka's sticky default).
            c.StickyPartitioningLingerMs = 0;
            c.MessageMaxBytes = (int)Math.Min(1_000_000_000L, Math.Max(DefaultMessageMaxBytes, (long)options.MaxMessageBytes + HeaderAllowance));
        });
        _messageMaxBytes = config.MessageMaxBytes ?? DefaultMessageMaxBytes;
        _producer = new ProducerBuilder<byte[]?, byte[]>(config)
            .SetErrorHandler((_, error) => _logger.LogWarning("Dead-letter producer error: {Reason}", error.Reason))
            .Build();
        Block = new ActionBlock<PipelineMessage>(ProduceAsync, new ExecutionDataflowBlockOptions { BoundedCapacity = 1024 });
        // Every permit back means every dead letter was acknowledged (failed ones keep their permit while retried).
        Completion = Block.Completion.ContinueWith(_ => _inFlight.WhenAllExitedAsync(), TaskScheduler.Default).Unwrap();
        _retryLoop = Task.Run(RetryLoopAsync);
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
        await _inFlight.EnterAsync().ConfigureAwait(false);
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
        catch (ProduceException<byte[]?, byte[]> ex) when (ex.Error.Code == ErrorCode.MsgSizeTooLarge)
        {
            RetryTruncated(source, deadLetter, ex.Error.Reason);
        }
    }

    private void OnDelivered(PipelineMessage source, Message<byte[]?, byte[]> deadLetter, DeliveryReport<byte[]?, byte[]> report)
    {
        if (report.Error.Code is ErrorCode.MsgSizeTooLarge)
        {
            RetryTruncated(source, deadLetter, report.Error.Reason);
            return;
        }
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
        _inFlight.Exit();
    }

    /// <summary>
    /// Sends the dead letter again with its value cut to half of what was refused (first to what the producer allows),
    /// keeping every header and adding <see cref="TruncatedHeader"/>; an empty value always fits.
    /// </summary>
    private void RetryTruncated(PipelineMessage source, Message<byte[]?, byte[]> deadLetter, string reason)
    {
        var value = deadLetter.Value;
        var originalLength = source.Value.Length;
        if (value.Length == 0)
        {
            // Its headers alone are too large: nothing left to cut; keep trying rather than drop it (the stage's
            // health shows the stall through the queue depth and the retried count).
            _metrics.StageMessages.WithLabels(StageName, "retried").Inc();
            _logger.LogError("Dead letter for {Partition}@{Offset} refused as too large even with an empty value ({Reason}); retrying",
                source.Lease.Partition, source.Offset, reason);
            RetryLater(source, deadLetter);
            return;
        }
        var keep = value.Length > _messageMaxBytes - HeaderAllowance ? Math.Max(0, _messageMaxBytes - HeaderAllowance) : value.Length / 2;
        _metrics.StageMessages.WithLabels(StageName, "truncated").Inc();
        _logger.LogWarning("Dead letter for {Partition}@{Offset} refused as too large ({Reason}); sending the first {Kept} of its {Length} bytes",
            source.Lease.Partition, source.Offset, reason, keep, originalLength);
        var headers = new Headers();
        foreach (var header in deadLetter.Headers.Where(h => h.Key != TruncatedHeader))
            headers.Add(header.Key, header.GetValueBytes());
        headers.Add(TruncatedHeader, Encoding.UTF8.GetBytes(originalLength.ToString(CultureInfo.InvariantCulture)));
        Produce(source, new Message<byte[]?, byte[]> { Key = deadLetter.Key, Value = value.AsSpan(0, keep).ToArray(), Headers = headers });
    }

    private void RetryLater(PipelineMessage source, Message<byte[]?, byte[]> deadLetter) =>
        _retries.Writer.TryWrite((source, deadLetter, DateTime.UtcNow + RetryDelay));

    /// <summary>Produces refused dead letters again after a pause; owned by the stage and stopped by <see cref="Dispose"/>.</summary>
    private async Task RetryLoopAsync()
    {
        try
        {
            await foreach (var (source, deadLetter, notBefore) in _retries.Reader.ReadAllAsync(_disposing.Token).ConfigureAwait(false))
            {
                var wait = notBefore - DateTime.UtcNow;
                if (wait > TimeSpan.Zero)
                    await Task.Delay(wait, _disposing.Token).ConfigureAwait(false);
                Produce(source, deadLetter);
            }
        }
        catch (OperationCanceledException) when (_disposing.IsCancellationRequested)
        {
            // Disposed: dead letters still waiting were never acknowledged, so their offsets stay uncommitted.
        }
    }

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
        headers.Add(TimestampHeader, Encoding.UTF8.GetBytes(message.TimestampMs.ToString(CultureInfo.InvariantCulture)));
        return new Message<byte[]?, byte[]> { Key = message.Key, Value = message.Value, Headers = headers };
    }

    public void Dispose()
    {
        _disposing.Cancel();
        _retries.Writer.TryComplete();
        _retryLoop.Wait(TimeSpan.FromSeconds(5));
        _producer.Flush(TimeSpan.FromSeconds(5));
        _producer.Dispose();
        _disposing.Dispose();
    }
}
