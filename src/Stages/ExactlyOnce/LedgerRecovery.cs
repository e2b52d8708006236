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

    /// <param name="stop">The worker is stopping: recovery gives up between two calls to the brokers and revokes
    /// <paramref name="leases"/>, so that nothing of these partitions is inserted or committed without its plan (their
    /// next owner recovers them). Without this, a SIGTERM during a slow recovery waited for all of it (up to a minute).</param>
    public void Prepare<TKey, TValue>(IConsumer<TKey, TValue> consumer, IReadOnlyList<PartitionLease> leases, CancellationToken stop)
    {
        if (leases.Count == 0)
            return;
        try
        {
            Recover(consumer, leases, stop);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            foreach (var lease in leases)
                lease.Revoke();
            logger.LogWarning("Stopping: partitions {Partitions} were not recovered and are left to their next owner",
                string.Join(",", leases.Select(l => l.Partition.Partition.Value)));
        }
    }

    private void Recover<TKey, TValue>(IConsumer<TKey, TValue> consumer, IReadOnlyList<PartitionLease> leases, CancellationToken stop)
    {
        var deadline = DateTime.UtcNow + Timeout;
        var committed = KafkaRetry.UntilDeadline(() => consumer.Committed(leases.Select(l => l.Partition), KafkaRetry.Step(deadline)), deadline, logger,
                "committed offsets", stop)
            .ToDictionary(tpo => tpo.TopicPartition, tpo => tpo.Offset.Value);
        var recorded = ledger.ReadLatest(leases.Select(l => l.Partition.Partition.Value).ToList(), Timeout, stop);
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
