using System.Buffers.Binary;
using System.IO.Hashing;

namespace EventPipeline.Stages.Partitioning;

/// <summary>
/// Consistent hashing with bounded loads: partitions sit on a hash ring (<see cref="VirtualNodes"/> points each) and a
/// message goes to the first partition clockwise from its key whose recent load stays within (1 + epsilon) times the
/// mean. A key stays where it hashes until its partition fills, then overflows to the ring's next partitions: a hot key
/// spreads over as many partitions as its load needs, a cold one keeps one.
/// </summary>
public sealed class BoundedLoadPartitioner : ProducerPartitioner
{
    public const int VirtualNodes = 64;

    private readonly ulong[] _ringPoints;
    private readonly int[] _ringPartitions;

    /// <param name="epsilon">How far above the mean a partition may go before keys overflow past it (> 0).</param>
    public BoundedLoadPartitioner(int partitionCount, double epsilon = 0.25, int halfLifeMessages = 65_536)
        : base(partitionCount, halfLifeMessages)
    {
        if (!(epsilon > 0))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "must be above 0");
        Epsilon = epsilon;
        var ring = new (ulong Point, int Partition)[partitionCount * VirtualNodes];
        Span<byte> node = stackalloc byte[8];
        for (int partition = 0; partition < partitionCount; partition++)
        {
            for (int replica = 0; replica < VirtualNodes; replica++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(node, partition);
                BinaryPrimitives.WriteInt32LittleEndian(node[4..], replica);
                ring[(partition * VirtualNodes) + replica] = (XxHash3.HashToUInt64(node, seed: 0x72696e67), partition);
            }
        }
        Array.Sort(ring, (a, b) => a.Point.CompareTo(b.Point));
        _ringPoints = ring.Select(r => r.Point).ToArray();
        _ringPartitions = ring.Select(r => r.Partition).ToArray();
    }

    public double Epsilon { get; }

    /// <summary>
    /// What a partition may hold before keys overflow past it: ceil((1 + epsilon) * m / n) as in the paper, where the
    /// message being placed counts in m, so that with every partition at capacity someone still has room for it.
    /// </summary>
    public double Capacity => Math.Ceiling((1 + Epsilon) * (Load.Total + 1) / PartitionCount);

    public override PartitionStrategy Strategy => PartitionStrategy.BoundedLoad;

    protected override int Place(ReadOnlySpan<byte> key)
    {
        double capacity = Capacity;
        int start = Array.BinarySearch(_ringPoints, KeyId(key));
        if (start < 0)
            start = ~start;
        for (int step = 0; step < _ringPoints.Length; step++)
        {
            int index = start + step;
            if (index >= _ringPoints.Length)
                index -= _ringPoints.Length;
            int partition = _ringPartitions[index];
            if (Load[partition] + 1 <= capacity)
                return partition;
        }
        return LeastLoadedOverall();
    }

    private int LeastLoadedOverall()
    {
        var loads = Load.Loads;
        int best = 0;
        for (int i = 1; i < loads.Length; i++)
        {
            if (loads[i] < loads[best])
                best = i;
        }
        return best;
    }
}
