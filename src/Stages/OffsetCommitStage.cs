using System.Collections.Concurrent;
using Confluent.Kafka;
using EventPipeline.Stages.Flow;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Stages;

/// <summary>
/// Owns the leases of the assigned partitions and commits, per partition, the highest offset below which every
/// message is durable (inserted or acknowledged by the dead-letter topic). Only the Kafka source's thread calls
/// the consumer, so the methods taking an <see cref="IConsumer{TKey,TValue}"/> must be called from there.
/// </summary>
public sealed class OffsetCommitStage(PipelineMetrics metrics, ILogger<OffsetCommitStage> logger)
{
    public const string StageName = "commit";

    private readonly ConcurrentDictionary<TopicPartition, PartitionLease> _leases = new();

    public IReadOnlyCollection<PartitionLease> Leases => (IReadOnlyCollection<PartitionLease>)_leases.Values;

    public PartitionLease Assign(TopicPartition partition)
    {
        var lease = new PartitionLease(partition);
        if (_leases.TryRemove(partition, out var stale))
            stale.Revoke();
        _leases[partition] = lease;
        metrics.AssignedPartitions.Set(_leases.Count);
        return lease;
    }

    public PartitionLease? Find(TopicPartition partition) => _leases.GetValueOrDefault(partition);

    /// <summary>Commits what is durable for the given partitions, then drops everything still in flight for them.</summary>
    public void Revoke<TKey, TValue>(IConsumer<TKey, TValue> consumer, IEnumerable<TopicPartition> partitions, bool commitFirst)
    {
        var leases = new List<PartitionLease>();
        foreach (var partition in partitions)
        {
            if (_leases.TryRemove(partition, out var lease))
                leases.Add(lease);
        }
        if (commitFirst)
            Commit(consumer, leases);
        foreach (var lease in leases)
        {
            lease.Revoke();
            var dropped = lease.Offsets.InFlight;
            if (dropped > 0)
            {
                metrics.StageMessages.WithLabels(StageName, "dropped_revoked").Inc(dropped);
                logger.LogInformation("Partition {Partition} revoked with {Dropped} messages in flight; its new owner reads them again",
                    lease.Partition, dropped);
            }
            metrics.ConsumerLag.RemoveLabelled(lease.Partition.Topic, lease.Partition.Partition.Value.ToString());
        }
        metrics.AssignedPartitions.Set(_leases.Count);
    }

    /// <summary>Commits every partition whose durable watermark moved since its last commit.</summary>
    public int CommitAll<TKey, TValue>(IConsumer<TKey, TValue> consumer) => Commit(consumer, _leases.Values);

    public long InFlight
    {
        get
        {
            long total = 0;
            foreach (var lease in _leases.Values)
                total += lease.Offsets.InFlight;
            return total;
        }
    }

    private int Commit<TKey, TValue>(IConsumer<TKey, TValue> consumer, IEnumerable<PartitionLease> leases)
    {
        List<(PartitionLease Lease, long Offset, long Messages)>? pending = null;
        foreach (var lease in leases)
        {
            var (offset, messages) = lease.Offsets.Committable;
            if (offset > lease.CommittedOffset)
                (pending ??= []).Add((lease, offset, messages));
        }
        if (pending is null)
            return 0;

        try
        {
            consumer.Commit(pending.Select(p => new TopicPartitionOffset(p.Lease.Partition, new Offset(p.Offset))));
            long committedMessages = 0;
            foreach (var (lease, offset, messages) in pending)
            {
                committedMessages += messages - lease.CommittedMessages;
                lease.CommittedOffset = offset;
                lease.CommittedMessages = messages;
            }
            metrics.StageMessages.WithLabels(StageName, "ok").Inc(committedMessages);
            metrics.OffsetCommits.WithLabels("ok").Inc();
            return pending.Count;
        }
        catch (KafkaException ex)
        {
            // Not fatal: the watermark only grows, so the next commit covers these offsets too. Until then a crash
            // re-reads them (at-least-once), never skips them.
            metrics.OffsetCommits.WithLabels("error").Inc();
            logger.LogWarning("Offset commit of {Count} partitions failed: {Reason}", pending.Count, ex.Error.Reason);
            return 0;
        }
    }
}
