using System.Diagnostics;
using System.Threading.Tasks.Dataflow;
using EventPipeline.Stages.Batching;
using EventPipeline.Stages.ClickHouse;
using EventPipeline.Stages.Flow;

namespace EventPipeline.Stages;

public sealed record BatchStageOptions
{
    /// <summary>Chunks of decoded events waiting to be added to a batch (Pipeline:QueueCapacity / Pipeline:MaxChunkSize).</summary>
    public int BoundedCapacity { get; init; } = 16;

    /// <summary>The oldest row of a batch waits at most this long before the batch is flushed (Batch:MaxLatency).</summary>
    public TimeSpan MaxLatency { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Upper bound on whatever the policy asks for (Batch:MaxSize): bounds the memory of one batch.</summary>
    public int MaxSize { get; init; } = 200_000;

    /// <summary>
    /// Batch:MinInsertIntervalMs: no flush sooner than this after the previous one, whatever the policy asked for or
    /// the MaxLatency timer says; the batch keeps filling meanwhile (up to MaxSize). The hard limit on inserts a table
    /// takes from this worker, the same for a learned policy and a simple one. Zero: off.
    /// </summary>
    public TimeSpan MinInsertInterval { get; init; }

    public void Validate()
    {
        if (BoundedCapacity < 1)
            throw new ArgumentOutOfRangeException("Pipeline:QueueCapacity", BoundedCapacity, "must be at least 1");
        if (MaxLatency <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException("Batch:MaxLatency", MaxLatency, "must be positive");
        if (MaxSize < 1)
            throw new ArgumentOutOfRangeException("Batch:MaxSize", MaxSize, "must be at least 1");
        if (MinInsertInterval < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException("Batch:MinInsertIntervalMs", MinInsertInterval, "must be 0 (off) or positive");
    }
}

/// <summary>
/// Stage 3: encodes each decoded event as a RowBinary row straight into the current batch's pooled buffer and
/// flushes the batch to the sink when it reaches the size the policy chose or its oldest row reaches
/// <see cref="BatchStageOptions.MaxLatency"/>. A row that does not fit its column goes to the dead letter; the
/// rest of the batch is unaffected.
/// </summary>
public sealed class BatchStage : BatchingStage
{
    public const string StageName = "batch";

    private readonly EventRowEncoder _encoder;

    // The chunk a full batch stopped in: the next batch starts with its remaining messages.
    private PipelineMessage[]? _carried;
    private int _carriedFrom;

    // Stopwatch time before which no batch may be flushed (the previous flush + MinInsertInterval); 0: no limit.
    private long _earliestFlush;

    public BatchStage(BatchStageOptions options, EventRowEncoder encoder, IBatchSizePolicy policy, PipelineMetrics metrics)
        : base(options, policy, metrics)
    {
        _encoder = encoder;
    }

    protected override async Task RunAsync(ITargetBlock<InsertBatch> sink, ITargetBlock<PipelineMessage> deadLetter)
    {
        try
        {
            while (_carried is not null || await InputBuffer.OutputAvailableAsync().ConfigureAwait(false))
            {
                var target = NextTargetSize();
                var batch = await FillAsync(target, deadLetter).ConfigureAwait(false);
                if (batch is null)
                    continue;
                Metrics.BatchSize.Observe(batch.Count);
                Metrics.StageMessages.WithLabels(StageName, "ok").Inc(batch.Count);
                if (!await sink.SendAsync(batch).ConfigureAwait(false))
                {
                    batch.Dispose();
                    throw new DownstreamStoppedException("The ClickHouse sink stopped accepting batches");
                }
            }
            sink.Complete();
        }
        catch (Exception ex)
        {
            sink.Fault(ex);
            throw;
        }
    }

    private async Task<InsertBatch?> FillAsync(int target, ITargetBlock<PipelineMessage> deadLetter)
    {
        var started = Stopwatch.GetTimestamp();
        // The insert interval outranks the timer and the policy's size: until it has passed the batch grows to MaxSize.
        var deadline = Math.Max(started + (long)(Options.MaxLatency.TotalSeconds * Stopwatch.Frequency), _earliestFlush);
        var limit = _earliestFlush > started ? Math.Max(target, Options.MaxSize) : target;
        var payload = new PooledBufferWriter();
        var originals = new PooledBufferWriter();
        var messages = new List<PipelineMessage>(Math.Min(target, 65_536));
        using var timeout = new CancellationTokenSource();
        long armedFor = 0;
        bool Done() => messages.Count >= limit || messages.Count >= target && (limit == target || Stopwatch.GetTimestamp() >= _earliestFlush);
        while (!Done())
        {
            if (TakeChunk(out var chunk, out var from))
            {
                for (var i = from; i < chunk.Length; i++)
                {
                    if (Done())
                    {
                        // Full: the rest of the chunk opens the next batch, in order.
                        _carried = chunk;
                        _carriedFrom = i;
                        break;
                    }
                    var message = chunk[i];
                    if (message.Lease.IsRevoked)
                    {
                        Metrics.StageMessages.WithLabels(StageName, "dropped_revoked").Inc();
                        continue;
                    }
                    var rowStart = payload.Length;
                    if (_encoder.TryEncode(payload, message.Event!, message.Coordinates, out var error))
                    {
                        message.EncodedAs(rowStart, payload.Length);
                        message.Park(originals);
                        messages.Add(message);
                    }
                    else
                    {
                        message.Failure = new DeadLetterReason("encode", "column_value", error!);
                        Metrics.StageMessages.WithLabels(StageName, "dead_letter").Inc();
                        if (!await deadLetter.SendAsync(message).ConfigureAwait(false))
                            throw new DownstreamStoppedException("The dead-letter stage stopped accepting messages");
                    }
                }
                continue;
            }

            // Waiting for rows: until the timer, or, with the batch already full enough, until the interval has passed.
            var until = messages.Count >= target ? _earliestFlush : deadline;
            var remaining = until - Stopwatch.GetTimestamp();
            if (remaining <= 0)
                break;
            if (armedFor != until)
            {
                timeout.CancelAfter(TimeSpan.FromSeconds((double)remaining / Stopwatch.Frequency));
                armedFor = until;
            }
            try
            {
                if (!await InputBuffer.OutputAvailableAsync(timeout.Token).ConfigureAwait(false))
                    break; // input completed: flush what we have
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                break;
            }
        }

        Metrics.StageDuration.WithLabels(StageName).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        if (messages.Count == 0)
        {
            payload.Dispose();
            originals.Dispose();
            return null;
        }
        if (Options.MinInsertInterval > TimeSpan.Zero)
            _earliestFlush = Stopwatch.GetTimestamp() + (long)(Options.MinInsertInterval.TotalSeconds * Stopwatch.Frequency);
        return new InsertBatch(payload, originals, messages, started);
    }

    /// <summary>The rest of the chunk a full batch stopped in, else the next queued chunk.</summary>
    private bool TakeChunk(out PipelineMessage[] chunk, out int from)
    {
        if (_carried is { } carried)
        {
            (chunk, from, _carried) = (carried, _carriedFrom, null);
            return true;
        }
        from = 0;
        if (!InputBuffer.TryReceive(out chunk!))
            return false;
        CountArrival(chunk);
        return true;
    }
}

/// <summary>An exponentially smoothed events-per-second meter, cheap enough to call per message.</summary>
internal sealed class RateMeter
{
    private readonly object _gate = new();
    private long _windowStart = Stopwatch.GetTimestamp();
    private long _count;
    private double _rate;

    public void Add(int count)
    {
        lock (_gate)
        {
            _count += count;
            var elapsed = Stopwatch.GetElapsedTime(_windowStart).TotalSeconds;
            if (elapsed < 0.25)
                return;
            var current = _count / elapsed;
            _rate = _rate == 0 ? current : 0.7 * _rate + 0.3 * current;
            _count = 0;
            _windowStart = Stopwatch.GetTimestamp();
        }
    }

    public double PerSecond
    {
        get { lock (_gate) return _rate; }
    }
}
