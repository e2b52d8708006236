using System.Diagnostics;
using System.Threading.Tasks.Dataflow;
using EventPipeline.Stages.Batching;
using EventPipeline.Stages.ClickHouse;
using EventPipeline.Stages.ExactlyOnce;
using EventPipeline.Stages.Flow;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Stages;

/// <summary>
/// Stage 3 in exactly-once mode: every batch is one contiguous offset range of one partition, recorded in the
/// <see cref="BatchLedger"/> before it goes to the sink. A partition's first batches after an assignment are
/// exactly the ranges its previous owner recorded, so a block that was inserted before a crash is inserted again
/// byte for byte and ClickHouse's block deduplication drops it. Messages that failed to decode or encode are
/// members of their range too: they go to the dead letter with the batch, and the range's offsets are released
/// only when every member is durable.
/// </summary>
public sealed class PartitionBatchStage : BatchingStage
{
    public const string StageName = BatchStage.StageName;

    private readonly EventRowEncoder _encoder;
    private readonly BatchLedger _ledger;
    private readonly ILogger _logger;
    private readonly Dictionary<PartitionLease, PartitionBuffer> _buffers = [];
    private readonly List<ClosedBatch> _closed = [];

    public PartitionBatchStage(BatchStageOptions options, EventRowEncoder encoder, IBatchSizePolicy policy, BatchLedger ledger,
        PipelineMetrics metrics, ILogger<PartitionBatchStage> logger)
        : base(options, policy, metrics)
    {
        _encoder = encoder;
        _ledger = ledger;
        _logger = logger;
    }

    protected override async Task RunAsync(ITargetBlock<InsertBatch> sink, ITargetBlock<PipelineMessage> deadLetter)
    {
        try
        {
            while (true)
            {
                var more = await WaitForInputAsync().ConfigureAwait(false);
                while (InputBuffer.TryReceive(out var chunk))
                {
                    CountArrival(chunk);
                    foreach (var message in chunk)
                        Add(message);
                }
                var now = Stopwatch.GetTimestamp();
                foreach (var (lease, buffer) in _buffers.ToList())
                {
                    if (lease.IsRevoked)
                    {
                        buffer.Dispose();
                        _buffers.Remove(lease);
                    }
                    else if (buffer.Count > 0 && !buffer.IsReplaying && (now >= buffer.Deadline || !more))
                    {
                        // Draining flushes everything except a planned range that did not fully arrive: that one
                        // must not become a different block, the next owner replays it.
                        _closed.Add(buffer.Close());
                    }
                }
                await FlushAsync(sink, deadLetter).ConfigureAwait(false);
                if (!more)
                    break;
            }
            foreach (var buffer in _buffers.Values)
                buffer.Dispose();
            sink.Complete();
        }
        catch (Exception ex)
        {
            sink.Fault(ex);
            throw;
        }
    }

    /// <summary>Waits until a message arrives or the earliest open batch is due; false once the input completed.</summary>
    private async Task<bool> WaitForInputAsync()
    {
        var earliest = long.MaxValue;
        foreach (var buffer in _buffers.Values)
        {
            if (buffer.Count > 0 && !buffer.IsReplaying)
                earliest = Math.Min(earliest, buffer.Deadline);
        }
        if (earliest == long.MaxValue)
            return await InputBuffer.OutputAvailableAsync().ConfigureAwait(false);
        var remaining = earliest - Stopwatch.GetTimestamp();
        if (remaining <= 0)
            return true;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds((double)remaining / Stopwatch.Frequency));
        try
        {
            return await InputBuffer.OutputAvailableAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return true;
        }
    }

    private void Add(PipelineMessage message)
    {
        var lease = message.Lease;
        if (lease.IsRevoked)
        {
            Metrics.StageMessages.WithLabels(StageName, "dropped_revoked").Inc();
            return;
        }
        if (!_buffers.TryGetValue(lease, out var buffer))
        {
            foreach (var stale in _buffers.Keys.Where(k => k.IsRevoked || k.Partition == lease.Partition).ToList())
            {
                _buffers[stale].Dispose();
                _buffers.Remove(stale);
            }
            buffer = _buffers[lease] = new PartitionBuffer(lease);
        }
        if (buffer.Count == 0)
        {
            buffer.Open(NextTargetSize(), Stopwatch.GetTimestamp() + (long)(Options.MaxLatency.TotalSeconds * Stopwatch.Frequency), message.Offset);
            while (lease.Replay.TryPeek(out var planned) && planned.Last < message.Offset)
            {
                // The whole planned range lies behind us: its offsets were committed after all.
                lease.Replay.Dequeue();
            }
            if (lease.Replay.TryPeek(out var range) && range.First < message.Offset)
                _logger.LogWarning("Partition {Partition}: planned range {Range} starts before the first offset read ({Offset}); replaying the rest as one block",
                    lease.Partition, range, message.Offset);
        }
        var rowStart = buffer.Payload.Length;
        if (message.Failure is null && !_encoder.TryEncode(buffer.Payload, message.Event!, message.Coordinates, out var error))
        {
            message.Failure = new DeadLetterReason("encode", "column_value", error!);
            Metrics.StageMessages.WithLabels(StageName, "dead_letter").Inc();
        }
        else if (message.Failure is null)
        {
            message.EncodedAs(rowStart, buffer.Payload.Length);
            message.Park(buffer.Originals);
        }
        buffer.Add(message);
        // Closed at once, before the next message of the partition: a planned range must end exactly where it
        // ended the first time.
        if (buffer.IsDue)
        {
            var closed = buffer.Close();
            if (lease.Replay.TryPeek(out var planned) && closed.Range.Last >= planned.Last)
                lease.Replay.Dequeue();
            _closed.Add(closed);
        }
    }

    private async Task FlushAsync(ITargetBlock<InsertBatch> sink, ITargetBlock<PipelineMessage> deadLetter)
    {
        _closed.RemoveAll(batch =>
        {
            if (!batch.Lease.IsRevoked)
                return false;
            batch.Payload.Dispose();
            batch.Originals.Dispose();
            return true;
        });
        if (_closed.Count == 0)
            return;
        var started = Stopwatch.GetTimestamp();
        var records = new List<(int Partition, IReadOnlyList<OffsetRange> Outstanding)>(_closed.Count);
        foreach (var batch in _closed)
        {
            var lease = batch.Lease;
            lease.Outstanding.RemoveAll(r => r.Last < lease.CommittedOffset);
            if (!lease.Outstanding.Contains(batch.Range))
                lease.Outstanding.Add(batch.Range); // a replayed range is listed already (LedgerRecovery)
            records.Add((lease.Partition.Partition.Value, lease.Outstanding.ToList()));
        }
        // The plan is durable before any of these blocks can reach ClickHouse.
        await _ledger.RecordAsync(records, CancellationToken.None).ConfigureAwait(false);

        var closed = _closed.ToList();
        _closed.Clear();
        foreach (var (lease, _, members, payload, originals) in closed)
        {
            var group = new CompletionGroup(lease, members);
            var rows = new List<PipelineMessage>(members.Count);
            foreach (var member in members)
            {
                member.Group = group;
                if (member.Failure is null)
                    rows.Add(member);
            }
            foreach (var member in members)
            {
                if (member.Failure is not null && !await deadLetter.SendAsync(member).ConfigureAwait(false))
                    throw new DownstreamStoppedException("The dead-letter stage stopped accepting messages");
            }
            if (rows.Count == 0)
            {
                payload.Dispose();
                originals.Dispose();
                continue;
            }
            Metrics.BatchSize.Observe(rows.Count);
            Metrics.StageMessages.WithLabels(StageName, "ok").Inc(rows.Count);
            if (!await sink.SendAsync(new InsertBatch(payload, originals, rows, started)).ConfigureAwait(false))
            {
                payload.Dispose();
                originals.Dispose();
                throw new DownstreamStoppedException("The ClickHouse sink stopped accepting batches");
            }
        }
        Metrics.StageDuration.WithLabels(StageName).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    private sealed record ClosedBatch(PartitionLease Lease, OffsetRange Range, List<PipelineMessage> Members, PooledBufferWriter Payload,
        PooledBufferWriter Originals);

    /// <summary>The open batch of one partition lease.</summary>
    private sealed class PartitionBuffer(PartitionLease lease) : IDisposable
    {
        private List<PipelineMessage> _members = [];
        private int _target;
        private long _first;

        public PartitionLease Lease { get; } = lease;
        public PooledBufferWriter Payload { get; private set; } = new();
        public PooledBufferWriter Originals { get; private set; } = new();
        public long Deadline { get; private set; }
        public int Count => _members.Count;

        /// <summary>True while the open batch must become exactly the next planned range.</summary>
        public bool IsReplaying => Lease.Replay.TryPeek(out var planned) && _members.Count > 0 && _members[^1].Offset < planned.Last;

        public bool IsDue => Count > 0 && (Lease.Replay.TryPeek(out var planned)
            ? _members[^1].Offset >= planned.Last
            : Count >= _target);

        public void Open(int target, long deadline, long first)
        {
            _target = target;
            Deadline = deadline;
            _first = first;
        }

        public void Add(PipelineMessage message) => _members.Add(message);

        public ClosedBatch Close()
        {
            var result = new ClosedBatch(Lease, new OffsetRange(_first, _members[^1].Offset), _members, Payload, Originals);
            _members = [];
            Payload = new PooledBufferWriter();
            Originals = new PooledBufferWriter();
            return result;
        }

        public void Dispose()
        {
            Payload.Dispose();
            Originals.Dispose();
        }
    }
}
