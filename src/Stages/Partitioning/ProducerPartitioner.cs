using System.IO.Hashing;

namespace EventPipeline.Stages.Partitioning;

/// <summary>
/// Chooses the partition of each message a producer sends and keeps this producer's count of what went where
/// (<see cref="Load"/>: what load-aware strategies decide on, and what the partition metrics report). Messages without a
/// key have no locality to keep and go round-robin under every strategy.
/// Not thread-safe: a producer chooses from one thread.
/// </summary>
public abstract class ProducerPartitioner
{
    private readonly long[] _sent;
    private int _nextUnkeyed;

    protected ProducerPartitioner(int partitionCount, int halfLifeMessages)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, 1);
        Load = new PartitionLoad(partitionCount, halfLifeMessages);
        _sent = new long[partitionCount];
    }

    public abstract PartitionStrategy Strategy { get; }

    public int PartitionCount => Load.PartitionCount;

    /// <summary>This producer's decayed count of messages per partition.</summary>
    public PartitionLoad Load { get; }

    /// <summary>Messages placed on each partition since start (for the metrics; read from other threads, so only ever growing).</summary>
    public ReadOnlySpan<long> Sent => _sent;

    /// <summary>The partition for a message with this key (empty: no key), counted as sent there.</summary>
    public int Choose(ReadOnlySpan<byte> key)
    {
        int partition = key.IsEmpty ? NextUnkeyed() : Place(key);
        _sent[partition]++;
        if (Load.Record(partition))
            OnDecayed(Load.DecayPerStep);
        Recorded(key, partition);
        return partition;
    }

    protected abstract int Place(ReadOnlySpan<byte> key);

    /// <summary>Called after each message is counted: for strategies that learn per key.</summary>
    protected virtual void Recorded(ReadOnlySpan<byte> key, int partition)
    {
    }

    /// <summary>Called when <see cref="Load"/> decayed, with its factor, so that per-key counts decay in step.</summary>
    protected virtual void OnDecayed(double factor)
    {
    }

    private int NextUnkeyed()
    {
        int partition = _nextUnkeyed;
        _nextUnkeyed = partition + 1 == PartitionCount ? 0 : partition + 1;
        return partition;
    }

    /// <summary>
    /// The key's i-th distinct candidate partition (i &lt; partition count): independent hashes, skipping partitions already
    /// chosen, so that a key with d choices is on exactly d partitions and its first choices stay when d grows.
    /// </summary>
    internal static void Candidates(ReadOnlySpan<byte> key, int partitionCount, Span<int> candidates)
    {
        for (int i = 0; i < candidates.Length; i++)
        {
            int partition = (int)(XxHash3.HashToUInt64(key, seed: i + 1) % (ulong)partitionCount);
            while (candidates[..i].Contains(partition))
                partition = partition + 1 == partitionCount ? 0 : partition + 1;
            candidates[i] = partition;
        }
    }

    /// <summary>The least loaded of <paramref name="candidates"/>; ties go to the earlier one.</summary>
    internal int LeastLoaded(ReadOnlySpan<int> candidates)
    {
        int best = candidates[0];
        for (int i = 1; i < candidates.Length; i++)
        {
            if (Load[candidates[i]] < Load[best])
                best = candidates[i];
        }
        return best;
    }

    /// <summary>The identity of a key in per-key tables: a 64-bit hash (collisions among a few thousand keys: ~1e-12).</summary>
    internal static ulong KeyId(ReadOnlySpan<byte> key) => XxHash3.HashToUInt64(key);
}

/// <summary>librdkafka's default for keyed messages (consistent_random): CRC-32 of the key modulo the partition count.</summary>
public sealed class HashPartitioner(int partitionCount, int halfLifeMessages = 65_536) : ProducerPartitioner(partitionCount, halfLifeMessages)
{
    public override PartitionStrategy Strategy => PartitionStrategy.Hash;

    protected override int Place(ReadOnlySpan<byte> key) => (int)(Crc32.HashToUInt32(key) % (uint)PartitionCount);
}

/// <summary>Every partition in turn, whatever the key.</summary>
public sealed class RoundRobinPartitioner(int partitionCount, int halfLifeMessages = 65_536) : ProducerPartitioner(partitionCount, halfLifeMessages)
{
    private int _next;

    public override PartitionStrategy Strategy => PartitionStrategy.RoundRobin;

    protected override int Place(ReadOnlySpan<byte> key)
    {
        int partition = _next;
        _next = partition + 1 == PartitionCount ? 0 : partition + 1;
        return partition;
    }
}

/// <summary>
/// Partial Key Grouping: each key has two candidate partitions and each message goes to the one this producer has sent
/// less to lately. Every key stays on at most two partitions; the balance needs no coordination between producers.
/// </summary>
public sealed class PartialKeyGroupingPartitioner(int partitionCount, int halfLifeMessages = 65_536) : ProducerPartitioner(partitionCount, halfLifeMessages)
{
    public override PartitionStrategy Strategy => PartitionStrategy.PartialKeyGrouping;

    protected override int Place(ReadOnlySpan<byte> key)
    {
        if (PartitionCount == 1)
            return 0;
        Span<int> candidates = stackalloc int[2];
        Candidates(key, PartitionCount, candidates);
        return LeastLoaded(candidates);
    }
}
