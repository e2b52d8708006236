using System.Diagnostics;
using System.Threading.Tasks.Dataflow;
using Confluent.Kafka;
using EventPipeline.Stages.Flow;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Stages;

public sealed record KafkaSourceOptions
{
    public required string BootstrapServers { get; init; }
    public required string Topic { get; init; }
    public required string GroupId { get; init; }

    /// <summary>Where a group without a committed offset starts: earliest (default) or latest.</summary>
    public AutoOffsetReset AutoOffsetReset { get; init; } = AutoOffsetReset.Earliest;

    /// <summary>Any librdkafka consumer property; these win over the values derived above.</summary>
    public IReadOnlyDictionary<string, string> ClientProperties { get; init; } = new Dictionary<string, string>();

    public TimeSpan CommitInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Messages handed to the next stage in one step, at most (Pipeline:MaxChunkSize). A chunk is cut early when the
    /// client has nothing more fetched, so a quiet topic still sends each message at once.
    /// </summary>
    public int MaxChunkSize { get; init; } = DefaultMaxChunkSize;

    public const int DefaultMaxChunkSize = 512;

    /// <summary>A chunk is handed on after this long even if the client keeps delivering: bounds what chunking adds to latency.</summary>
    public static readonly TimeSpan MaxChunkAge = TimeSpan.FromMilliseconds(5);

    public ConsumerConfig BuildConsumerConfig()
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = BootstrapServers,
            GroupId = GroupId,
            AutoOffsetReset = AutoOffsetReset,
            // Offsets are committed by OffsetCommitStage, only up to the durable watermark.
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            // Incremental rebalancing keeps the partitions that stay with this worker flowing during a rebalance
            // and, unlike eager rebalancing, lets the revoked ones commit (fewer duplicates).
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
            EnablePartitionEof = false,
            // librdkafka waits up to 500 ms by default for a fetch to fill. A real broker answers as soon as data arrives,
            // but the embedded (mock) broker holds an empty fetch for the whole wait even when data arrives meanwhile:
            // measured, that alone tripled p99 produce->visible (3.3 s vs 1.1 s at a quarter of the maximum rate). 100 ms
            // bounds that; against a real broker it only means an idle consumer asks ten times a second.
            FetchWaitMaxMs = 100,
            ClientId = $"event-pipeline-{Environment.MachineName}",
        };
        foreach (var (key, value) in ClientProperties)
            config.Set(key, value);
        return config;
    }
}

/// <summary>
/// Stage 1: a consumer-group member that feeds messages into the pipeline in chunks (one hand-off, one metric update
/// and one wake-up of the next stage per chunk rather than per message: per message, those cost more CPU than decoding
/// the message). When the next stage is full it pauses its partitions and keeps polling (so the group does not evict
/// it), and resumes when there is room.
/// </summary>
public sealed class KafkaSourceStage
{
    public const string StageName = "source";

    private static readonly TimeSpan PollTimeout = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan PausedPollTimeout = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan ShortStall = TimeSpan.FromMilliseconds(200);

    private readonly KafkaSourceOptions _options;
    private readonly OffsetCommitStage _commits;
    private readonly PipelineMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Action<IConsumer<byte[]?, byte[]?>, IReadOnlyList<PartitionLease>, CancellationToken>? _onAssigned;
    private readonly Queue<PipelineMessage[]> _waiting = new();
    private readonly List<PipelineMessage> _chunk = [];
    private long _chunkStarted;
    private PartitionLease? _lastLease;
    private readonly Prometheus.Counter.Child _consumedCounter;
    private bool _paused;
    private volatile bool _topicMissing;
    private long _uncommittedAtClose;
    private bool _assignmentChanged;
    private long _consumed;

    /// <param name="onAssigned">Runs on the consumer thread for newly assigned partitions before their first message
    /// is read (exactly-once recovery uses it); its token fires when the worker stops.</param>
    public KafkaSourceStage(KafkaSourceOptions options, OffsetCommitStage commits, PipelineMetrics metrics, ILogger<KafkaSourceStage> logger,
        Action<IConsumer<byte[]?, byte[]?>, IReadOnlyList<PartitionLease>, CancellationToken>? onAssigned = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(options.BootstrapServers, "Kafka:BootstrapServers");
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Topic, "Kafka:Topic");
        ArgumentException.ThrowIfNullOrWhiteSpace(options.GroupId, "Kafka:GroupId");
        if (options.MaxChunkSize < 1)
            throw new ArgumentOutOfRangeException("Pipeline:MaxChunkSize", options.MaxChunkSize, "must be at least 1");
        _options = options;
        _commits = commits;
        _metrics = metrics;
        _logger = logger;
        _onAssigned = onAssigned;
        _consumedCounter = metrics.StageMessages.WithLabels(StageName, "ok");
    }

    public long Consumed => Interlocked.Read(ref _consumed);
    public bool IsPaused => Volatile.Read(ref _paused);

    /// <summary>The broker said the source topic does not exist (a typo in Kafka:Topic, or not created yet); readiness reports it.</summary>
    public bool TopicMissing => _topicMissing;

    /// <summary>Messages consumed but neither inserted nor dead-lettered when the consumer closed: the next owner reads them again.</summary>
    public long UncommittedAtClose => Interlocked.Read(ref _uncommittedAtClose);

    /// <summary>
    /// Consumes until <paramref name="stop"/> fires, then completes <paramref name="target"/>, waits for
    /// <paramref name="drained"/> (everything downstream finished) unless <paramref name="abort"/> fires first,
    /// commits what is durable and leaves the group.
    /// </summary>
    public Task RunAsync(ITargetBlock<PipelineMessage[]> target, Func<Task> drained, CancellationToken stop, CancellationToken abort) =>
        Task.Factory.StartNew(() => Run(target, drained, stop, abort), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(ITargetBlock<PipelineMessage[]> target, Func<Task> drained, CancellationToken stop, CancellationToken abort)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(_options.BuildConsumerConfig())
            .SetPartitionsAssignedHandler((c, partitions) =>
            {
                var leases = partitions.Select(_commits.Assign).ToList();
                _lastLease = null;
                try
                {
                    _onAssigned?.Invoke(c, leases, stop);
                }
                catch (Exception ex)
                {
                    // Confluent.Kafka rethrows a handler's exception from Consume() and never assigns the partitions:
                    // swallowed as a consume error, the member would own partitions it never fetches. Fail the stage
                    // instead (health goes red, the pod restarts and its partitions move to a healthy member).
                    throw new PartitionRecoveryException(
                        $"Preparing newly assigned partitions {Describe(partitions)} failed: {ex.Message}", ex);
                }
                _assignmentChanged = true;
                if (partitions.Count > 0)
                    _topicMissing = false;
                if (partitions.Count > 0) // incremental rebalances report empty assignments too
                    _logger.LogInformation("Assigned {Count} partitions: {Partitions}", partitions.Count, Describe(partitions));
            })
            .SetPartitionsRevokedHandler((c, partitions) =>
            {
                _lastLease = null;
                _commits.Revoke(c, partitions.Select(p => p.TopicPartition), commitFirst: true);
                _logger.LogInformation("Revoked {Count} partitions: {Partitions}", partitions.Count, Describe(partitions.Select(p => p.TopicPartition)));
            })
            .SetPartitionsLostHandler((c, partitions) =>
            {
                _lastLease = null;
                _commits.Revoke(c, partitions.Select(p => p.TopicPartition), commitFirst: false);
                _logger.LogWarning("Lost {Count} partitions without a clean revoke", partitions.Count);
            })
            .SetErrorHandler((_, error) =>
            {
                if (error.IsFatal)
                    _logger.LogCritical("Fatal Kafka consumer error: {Reason}", error.Reason);
                else
                    _logger.LogWarning("Kafka consumer error: {Reason}", error.Reason);
            })
            .SetLogHandler((_, log) => OnClientLog(log))
            .Build();

        consumer.Subscribe(_options.Topic);
        _logger.LogInformation("Consuming {Topic} as group {GroupId}", _options.Topic, _options.GroupId);
        var sinceCommit = Stopwatch.StartNew();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                OfferWaiting(consumer, target);
                ConsumeResult<byte[]?, byte[]?>? result;
                try
                {
                    // While a chunk is open, take only what the client already fetched: waiting for more would delay it.
                    result = consumer.Consume(_chunk.Count > 0 ? TimeSpan.Zero : _paused ? PausedPollTimeout : PollTimeout);
                }
                catch (ConsumeException ex) when (!ex.Error.IsFatal && ex.Error.Code is ErrorCode.UnknownTopicOrPart or ErrorCode.Local_UnknownTopic)
                {
                    if (!_topicMissing)
                        _logger.LogError("Source topic {Topic} does not exist ({Reason}); waiting for it, reported not ready", _options.Topic, ex.Error.Reason);
                    _topicMissing = true;
                    continue;
                }
                catch (ConsumeException ex) when (!ex.Error.IsFatal)
                {
                    _metrics.StageMessages.WithLabels(StageName, "consume_error").Inc();
                    _logger.LogWarning("Consume error on {Partition}: {Reason}", ex.ConsumerRecord?.TopicPartitionOffset, ex.Error.Reason);
                    continue;
                }
                if (result?.Message is not null)
                {
                    if (_topicMissing) // read per message, written only on the change: a volatile write per message is not free
                        _topicMissing = false;
                    Accept(result);
                }
                if (_chunk.Count > 0 && (result is null || _chunk.Count >= _options.MaxChunkSize
                        || Stopwatch.GetElapsedTime(_chunkStarted) >= KafkaSourceOptions.MaxChunkAge))
                    Emit(consumer, target);

                if (sinceCommit.Elapsed >= _options.CommitInterval)
                {
                    _commits.CommitAll(consumer);
                    UpdateLag(consumer);
                    sinceCommit.Restart();
                }
            }
        }
        catch (ConsumeException ex)
        {
            _logger.LogCritical("Fatal consume error, stopping: {Reason}", ex.Error.Reason);
            throw;
        }
        finally
        {
            Shutdown(consumer, target, drained, abort);
        }
    }

    private void Accept(ConsumeResult<byte[]?, byte[]?> result)
    {
        // Most messages come from the partition the previous one came from: skip the lookup (a hash of the topic name).
        var lease = _lastLease is { } last && last.Partition.Partition == result.Partition && last.Partition.Topic == result.Topic
            ? last
            : _lastLease = _commits.Find(result.TopicPartition);
        if (lease is null)
        {
            // Only possible for a message fetched just before its partition was revoked: its new owner reads it.
            _metrics.StageMessages.WithLabels(StageName, "dropped_revoked").Inc();
            return;
        }
        if (result.Offset.Value <= lease.Offsets.LastRegistered)
        {
            // Delivered again within the same assignment (seen during rebalances and leader moves). This lease
            // already holds the message, in flight or done: a second copy would only be a duplicate, and in
            // exactly-once mode it would split a recorded range into blocks that no longer deduplicate.
            _logger.LogDebug("Partition {Partition}: offset {Offset} delivered again (already at {Last}); dropped",
                result.TopicPartition, result.Offset.Value, lease.Offsets.LastRegistered);
            _metrics.StageMessages.WithLabels(StageName, "redelivered").Inc();
            return;
        }
        if (_chunk.Count == 0)
            _chunkStarted = Stopwatch.GetTimestamp();
        _chunk.Add(new PipelineMessage(lease, result.Offset.Value, lease.Offsets.Register(result.Offset.Value),
            result.Message.Key, result.Message.Value ?? [],
            result.Message.Headers is { Count: > 0 } headers ? headers : null, // most have none: no empty object to keep per message
            result.Message.Timestamp.UnixTimestampMs));
    }

    /// <summary>Hands the open chunk to the next stage, or queues it (and pauses) when the stage stays full.</summary>
    private void Emit(IConsumer<byte[]?, byte[]?> consumer, ITargetBlock<PipelineMessage[]> target)
    {
        var chunk = _chunk.ToArray();
        _chunk.Clear();
        Interlocked.Add(ref _consumed, chunk.Length);
        _consumedCounter.Inc(chunk.Length);
        if (_waiting.Count == 0 && (target.Post(chunk) || WaitForRoom(target, chunk)))
            return;
        _waiting.Enqueue(chunk);
        Pause(consumer);
    }

    /// <summary>
    /// Waits up to <see cref="ShortStall"/> for the next stage to take <paramref name="chunk"/>. A stage that works in
    /// batches (the codec, a batch flush) is full for a few milliseconds at a time; pausing for each of those costs more
    /// than the wait, because librdkafka drops what it prefetched for paused partitions and fetches it again on resume
    /// (measured: 2-3x lower throughput with the codec on). Blocking this briefly is safe: max.poll.interval.ms is
    /// minutes. A longer stall (ClickHouse down) still pauses.
    /// </summary>
    /// <returns>True when the stage took the chunk; false when it did not (the chunk was not delivered).</returns>
    private static bool WaitForRoom(ITargetBlock<PipelineMessage[]> target, PipelineMessage[] chunk)
    {
        using var giveUp = new CancellationTokenSource(ShortStall);
        try
        {
            return target.SendAsync(chunk, giveUp.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            return false; // withdrawn before the stage took it
        }
    }

    /// <summary>Hands waiting chunks to the next stage in order; resumes consumption once all are taken.</summary>
    private void OfferWaiting(IConsumer<byte[]?, byte[]?> consumer, ITargetBlock<PipelineMessage[]> target)
    {
        while (_waiting.Count > 0 && target.Post(_waiting.Peek()))
            _waiting.Dequeue();
        if (_waiting.Count > 0)
        {
            if (_assignmentChanged)
                Pause(consumer); // partitions assigned while paused start paused too
            return;
        }
        if (_paused)
        {
            consumer.Resume(consumer.Assignment);
            Volatile.Write(ref _paused, false);
            _metrics.PausedPartitions.Set(0);
        }
        _assignmentChanged = false;
    }

    private void Pause(IConsumer<byte[]?, byte[]?> consumer)
    {
        if (_paused && !_assignmentChanged)
            return;
        consumer.Pause(consumer.Assignment);
        Volatile.Write(ref _paused, true);
        _assignmentChanged = false;
        _metrics.PausedPartitions.Set(1);
    }

    private void Shutdown(IConsumer<byte[]?, byte[]?> consumer, ITargetBlock<PipelineMessage[]> target, Func<Task> drained, CancellationToken abort)
    {
        // Messages that never entered the pipeline are simply not committed: the next owner reads them.
        _waiting.Clear();
        _chunk.Clear();
        target.Complete();
        try
        {
            drained().Wait(abort);
            _logger.LogInformation("Pipeline drained");
        }
        catch (OperationCanceledException)
        {
            _logger.LogWarning("Drain timed out; committing only what is durable ({InFlight} messages in flight stay uncommitted)", _commits.InFlight);
        }
        catch (AggregateException ex)
        {
            _logger.LogWarning("A stage failed ({Reason}); committing only what is durable", ex.InnerException?.Message);
        }
        Interlocked.Exchange(ref _uncommittedAtClose, _commits.InFlight);
        _commits.CommitAll(consumer);
        try
        {
            consumer.Close();
        }
        catch (KafkaException ex)
        {
            _logger.LogWarning("Leaving the group failed: {Reason}", ex.Error.Reason);
        }
    }

    private void UpdateLag(IConsumer<byte[]?, byte[]?> consumer)
    {
        long inFlight = 0;
        foreach (var lease in _commits.Leases)
        {
            inFlight += lease.Offsets.InFlight;
            var high = consumer.GetWatermarkOffsets(lease.Partition).High;
            var durable = Math.Max(lease.Offsets.CommittableOffset, lease.CommittedOffset);
            if (high.Value < 0 || durable < 0)
                continue;
            _metrics.ConsumerLag.WithLabels(lease.Partition.Topic, lease.Partition.Partition.Value.ToString())
                .Set(Math.Max(0, high.Value - durable));
        }
        _metrics.InFlightMessages.Set(inFlight);
    }

    private void OnClientLog(LogMessage log)
    {
        // librdkafka resets a position the broker no longer has (retention, or the mock's 100k-message cap) to
        // auto.offset.reset and says so only in a log line. Those messages are gone from Kafka before we read
        // them: make it loud and countable rather than silent.
        if (log.Message.Contains("offset reset", StringComparison.OrdinalIgnoreCase))
        {
            _metrics.OffsetResets.Inc();
            _logger.LogError("Kafka reset a consumer position: messages were removed from the topic before this group read them ({Message})", log.Message);
            return;
        }
        _logger.Log(ToLogLevel(log.Level), "librdkafka {Facility}: {Message}", log.Facility, log.Message);
    }

    private static string Describe(IEnumerable<TopicPartition> partitions) =>
        string.Join(",", partitions.Select(p => p.Partition.Value).Order());

    private static LogLevel ToLogLevel(SyslogLevel level) => level switch
    {
        SyslogLevel.Emergency or SyslogLevel.Alert or SyslogLevel.Critical or SyslogLevel.Error => LogLevel.Error,
        SyslogLevel.Warning => LogLevel.Warning,
        SyslogLevel.Notice or SyslogLevel.Info => LogLevel.Information,
        _ => LogLevel.Debug,
    };
}

/// <summary>Newly assigned partitions could not be prepared (exactly-once recovery failed): the source stage stops.</summary>
public sealed class PartitionRecoveryException(string message, Exception inner) : Exception(message, inner);
