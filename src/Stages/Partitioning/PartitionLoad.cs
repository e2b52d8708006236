namespace EventPipeline.Stages.Partitioning;

/// <summary>
/// A producer's local estimate of how many messages each partition has received lately: counts that halve every
/// <see cref="HalfLifeMessages"/> messages, so that the estimate follows a load that moves (a flash crowd, the hot apps
/// of another time zone) while remembering enough to be stable. It counts messages, not seconds, so that a partitioner
/// decides the same way at any rate and in a simulator.
/// Not thread-safe: one partitioner, one producer thread.
/// </summary>
public sealed class PartitionLoad
{
    /// <summary>How often the decay is applied; between two steps the counts just add up.</summary>
    private const int DecayStepMessages = 1024;

    private readonly double[] _load;
    private readonly double _decayPerStep;
    private int _sinceDecay;

    public PartitionLoad(int partitionCount, int halfLifeMessages = 65_536)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(halfLifeMessages, DecayStepMessages);
        _load = new double[partitionCount];
        HalfLifeMessages = halfLifeMessages;
        _decayPerStep = Math.Pow(0.5, (double)DecayStepMessages / halfLifeMessages);
    }

    public int PartitionCount => _load.Length;

    public int HalfLifeMessages { get; }

    /// <summary>The decayed load of all partitions together.</summary>
    public double Total { get; private set; }

    public double this[int partition] => _load[partition];

    public ReadOnlySpan<double> Loads => _load;

    /// <summary>Counts one message for <paramref name="partition"/>; returns true when the counts were just decayed.</summary>
    public bool Record(int partition)
    {
        _load[partition] += 1;
        Total += 1;
        if (++_sinceDecay < DecayStepMessages)
            return false;
        _sinceDecay = 0;
        for (int i = 0; i < _load.Length; i++)
            _load[i] *= _decayPerStep;
        Total *= _decayPerStep;
        return true;
    }

    /// <summary>The decay factor applied at each step, for companions that decay along (per-key loads).</summary>
    internal double DecayPerStep => _decayPerStep;
}
