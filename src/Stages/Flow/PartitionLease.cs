using Confluent.Kafka;
using EventPipeline.Stages.ExactlyOnce;

namespace EventPipeline.Stages.Flow;

/// <summary>
/// One assignment of a partition to this worker. A revoked lease is never reused: messages still in flight for
/// it are dropped by the stages, and the partition's new owner reads them again from the committed offset.
/// </summary>
public sealed class PartitionLease(TopicPartition partition)
{
    private volatile bool _revoked;

    public TopicPartition Partition { get; } = partition;
    public PartitionOffsets Offsets { get; } = new();
    public bool IsRevoked => _revoked;

    /// <summary>The offset last committed for this lease, -1 before the first commit.</summary>
    public long CommittedOffset { get; set; } = -1;

    /// <summary>Messages below <see cref="CommittedOffset"/> that this lease consumed.</summary>
    public long CommittedMessages { get; set; }

    public void Revoke() => _revoked = true;

    /// <summary>
    /// Exactly-once only: ranges recorded in the batch ledger by this partition's previous owner and not yet
    /// committed. The first batches of this lease must be exactly these ranges, in this order.
    /// </summary>
    public Queue<OffsetRange> Replay { get; } = new();

    /// <summary>Exactly-once only: ranges this lease recorded that may not be committed yet (batch stage thread only).</summary>
    public List<OffsetRange> Outstanding { get; } = [];
}
