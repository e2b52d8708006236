using Confluent.Kafka;
using EventPipeline.Stages.Flow;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Stages.ExactlyOnce;

/// <summary>
/// Runs when partitions are assigned (on the consumer's thread, before any of their messages is read): gives each
/// new lease the ranges the ledger holds beyond the partition's committed offset, so that the batch stage forms
/// exactly those batches first.
/// </summary>
/// <remarks>
/// Recovery rules, with C the committed offset and [f, l] a recorded range:
/// l &lt; C: committed, ignored. f == C: replayed exactly (the usual case after a crash). f &gt; C: replayed after the
/// ranges before it (several batches were in flight). f &lt; C &lt;= l: cannot happen while offsets are released a whole
/// range at a time; if it does (a switch from at-least-once), the rest of the range is replayed as one block and the
/// batch stage logs a warning, since rows between f and C may then be duplicated.
/// </remarks>
public sealed class LedgerRecovery(BatchLedger ledger, ILogger<LedgerRecovery> logger)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public void Prepare<TKey, TValue>(IConsumer<TKey, TValue> consumer, IReadOnlyList<PartitionLease> leases)
    {
        if (leases.Count == 0)
            return;
        var deadline = DateTime.UtcNow + Timeout;
        var committed = KafkaRetry.UntilDeadline(() => consumer.Committed(leases.Select(l => l.Partition), KafkaRetry.Remaining(deadline)), deadline, logger,
                "committed offsets")
            .ToDictionary(tpo => tpo.TopicPartition, tpo => tpo.Offset.Value);
        var recorded = ledger.ReadLatest(leases.Select(l => l.Partition.Partition.Value).ToList(), Timeout);
        foreach (var lease in leases)
        {
            var committedOffset = committed.GetValueOrDefault(lease.Partition, -1);
            lease.CommittedOffset = committedOffset;
            foreach (var range in recorded[lease.Partition.Partition.Value].Where(r => r.Last >= committedOffset).OrderBy(r => r.First))
            {
                lease.Replay.Enqueue(range);
                // Still outstanding until committed: every record this lease writes must keep listing them, or a
                // loss of the partition in the middle of the replay would leave the next owner without the plan
                // for blocks that were already inserted, and it would cut them differently (duplicates).
                lease.Outstanding.Add(range);
            }
            if (lease.Replay.Count > 0)
                logger.LogInformation("Partition {Partition}: committed {Committed}, replaying {Ranges} as recorded",
                    lease.Partition, committedOffset, OffsetRange.Format(lease.Replay));
        }
    }
}
