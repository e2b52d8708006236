using System.Buffers;
using Confluent.Kafka;
using EventPipeline.Stages.ClickHouse;
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
        _key = key;
        _value = value;
        Headers = headers;
        TimestampMs = timestampMs;
    }

    public PartitionLease Lease { get; }
    public long Offset { get; }
    public long Sequence { get; }
    private byte[]? _key;
    private byte[]? _value;
    private PooledBufferWriter? _parkedIn;
    private long _parkedAt;
    private int _parkedKeyLength;
    private int _valueLength;

    public byte[]? Key => _parkedIn is null ? _key : throw Parked();
    public byte[] Value => _value ?? throw Parked();
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

    /// <summary>
    /// Moves the key and value into <paramref name="originals"/>, a batch's pooled memory, until <see cref="Unpark"/>.
    /// A batch holds its messages until ClickHouse acknowledges it (a second or more): a kilobyte array per message held
    /// that long is copied from generation to generation by the garbage collector, which cost more CPU than anything the
    /// stages do with the message. Only a row that ClickHouse rejects needs its bytes back, for its dead letter.
    /// </summary>
    public void Park(PooledBufferWriter originals)
    {
        _parkedAt = originals.Length;
        _parkedKeyLength = _key?.Length ?? -1;
        _valueLength = Value.Length;
        if (_key is not null)
            originals.Write(_key);
        originals.Write<byte>(_value);
        _parkedIn = originals;
        _key = null;
        _value = null;
    }

    /// <summary>Copies the key and value back out of the batch's memory (before the batch is disposed).</summary>
    public void Unpark()
    {
        if (_parkedIn is not { } originals)
            return;
        var keyLength = Math.Max(0, _parkedKeyLength);
        var bytes = new ArrayBufferWriter<byte>(Math.Max(1, keyLength + _valueLength));
        originals.CopyRange(_parkedAt, keyLength + _valueLength, bytes);
        _key = _parkedKeyLength < 0 ? null : bytes.WrittenSpan[..keyLength].ToArray();
        _value = bytes.WrittenSpan[keyLength..].ToArray();
        _parkedIn = null;
    }

    private InvalidOperationException Parked() =>
        new($"{Lease.Partition.Topic}[{Lease.Partition.Partition.Value}]@{Offset}: the message's bytes are parked in its batch; Unpark() them first");

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
