namespace EventPipeline.Models.Batching;

/// <summary>Counts latencies in 2% log buckets from 1 ms to ~2 minutes: percentiles of millions of rows in O(1) memory.</summary>
public sealed class LatencyHistogram
{
    private const double Min = 0.001;
    private static readonly double LogGrowth = Math.Log(1.02);
    private readonly long[] _counts = new long[600];

    public long Count { get; private set; }
    public double Sum { get; private set; }

    public void Add(double seconds, long count)
    {
        var i = seconds <= Min ? 0 : Math.Min(_counts.Length - 1, (int)Math.Ceiling(Math.Log(seconds / Min) / LogGrowth));
        _counts[i] += count;
        Count += count;
        Sum += seconds * count;
    }

    /// <summary>Upper edge of the bucket holding the q-quantile; 0 when empty.</summary>
    public double Quantile(double q)
    {
        if (Count == 0)
            return 0;
        var rank = (long)Math.Ceiling(q * Count);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
                return Min * Math.Exp(i * LogGrowth);
        }
        return Min * Math.Exp((_counts.Length - 1) * LogGrowth);
    }

    public void Clear()
    {
        Array.Clear(_counts);
        Count = 0;
        Sum = 0;
    }
}
