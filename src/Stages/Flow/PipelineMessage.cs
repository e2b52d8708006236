using Confluent.Kafka;
using EventPipeline.Stages.Events;

namespace EventPipeline.Stages.Flow;

/// <summary>
/// A Kafka message on its way through the stages. It carries its lease and sequence so that whichever stage
/// finishes it (the sink after the insert, the dead-letter stage after the ack) can release its offset.
/// </summary>
public sealed class PipelineMessage
{
    public PipelineMessage(PartitionLease lease, long offset, long sequence, byte[]? key, byte[] value, Headers? headers, long timestampMs)
    {
        Lease = lease;
        Offset = offset;
        Sequence = sequence;
        Key = key;
        Value = value;
        Headers = headers;
        TimestampMs = timestampMs;
    }

    public PartitionLease Lease { get; }
    public long Offset { get; }
    public long Sequence { get; }
    public byte[]? Key { get; }
    public byte[] Value { get; }
    public Headers? Headers { get; }

    /// <summary>The Kafka message timestamp (producer create time): the start of end-to-end latency.</summary>
    public long TimestampMs { get; }

    /// <summary>
    /// The decoded event, until its row is encoded into a batch: then it is dropped (<see cref="EncodedAs"/>), because a
    /// batch keeps its messages until ClickHouse acknowledges it, and ~10 objects per event kept that long made the
    /// garbage collector promote and trace all of them (the worker's largest CPU cost after Kafka itself).
    /// </summary>
    public AnalyticsEvent? Event { get; set; }

    /// <summary>Where this message's row lies in its batch's payload (logical byte position); -1 before it is encoded.</summary>
    public long RowStart { get; private set; } = -1;

    /// <summary>The length of this message's row in its batch's payload.</summary>
    public int RowLength { get; private set; }

    /// <summary>Records where the row was written and lets the event go; a split batch copies the row's bytes from there.</summary>
    public void EncodedAs(long rowStart, long rowEnd)
    {
        RowStart = rowStart;
        RowLength = (int)(rowEnd - rowStart);
        Event = null;
    }

    /// <summary>Set when the message is bound for the dead-letter topic.</summary>
    public DeadLetterReason? Failure { get; set; }

    public KafkaCoordinates Coordinates => new(Lease.Partition.Topic, Lease.Partition.Partition.Value, Offset, TimestampMs);

    /// <summary>
    /// In exactly-once mode, the batch this message belongs to: its offsets are released together with the
    /// batch's, never alone (see <see cref="CompletionGroup"/>).
    /// </summary>
    public CompletionGroup? Group { get; set; }

    /// <summary>Called when the message is durable: its row acknowledged by ClickHouse or its dead letter by Kafka.</summary>
    public void Complete()
    {
        if (Group is { } group)
            group.Arrive();
        else
            Lease.Offsets.Complete(Sequence);
    }
}

/// <summary>
/// The members of one exactly-once batch (rows and dead letters of one offset range of one partition). Their
/// offsets are released in one step once every member is durable, so a committed offset always falls on a
/// range boundary and a replayed range is never partly committed.
/// </summary>
public sealed class CompletionGroup(PartitionLease lease, IReadOnlyList<PipelineMessage> members)
{
    private int _pending = members.Count;

    public void Arrive()
    {
        if (Interlocked.Decrement(ref _pending) == 0)
            lease.Offsets.CompleteAll(members.Select(m => m.Sequence));
    }
}

/// <param name="Stage">The stage that rejected the message (decode, encode, sink).</param>
/// <param name="Kind">A short, fixed label for metrics (e.g. malformed, missing_field, column_value).</param>
/// <param name="Detail">The precise reason for a human.</param>
public sealed record DeadLetterReason(string Stage, string Kind, string Detail);
