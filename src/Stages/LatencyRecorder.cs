namespace EventPipeline.Stages;

/// <summary>
/// Keeps a uniform sample (reservoir sampling) of end-to-end latencies so that a demo or benchmark can report
/// exact-enough percentiles without Prometheus' bucket interpolation. Bounded memory whatever the volume.
/// </summary>
public sealed class LatencyRecorder(int capacity = 200_000)
{
    private readonly object _gate = new();
    private readonly double[] _samples = new double[capacity];
    private readonly Random _random = new(17);
    private long _seen;

    public long Count
    {
        get { lock (_gate) return _seen; }
    }

    public void Record(double milliseconds)
    {
        lock (_gate)
        {
            if (_seen < _samples.Length)
                _samples[_seen] = milliseconds;
            else
            {
                var slot = _random.NextInt64(_seen + 1);
                if (slot < _samples.Length)
                    _samples[slot] = milliseconds;
            }
            _seen++;
        }
    }

    /// <summary>Percentiles (0..100) of the sample, by nearest rank; NaN when nothing was recorded.</summary>
    public double[] Percentiles(params double[] percentiles)
    {
        double[] sorted;
        lock (_gate)
        {
            sorted = _samples.AsSpan(0, (int)Math.Min(_seen, _samples.Length)).ToArray();
        }
        Array.Sort(sorted);
        var result = new double[percentiles.Length];
        for (var i = 0; i < percentiles.Length; i++)
        {
            if (sorted.Length == 0)
            {
                result[i] = double.NaN;
                continue;
            }
            var rank = (int)Math.Ceiling(percentiles[i] / 100.0 * sorted.Length);
            result[i] = sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
        }
        return result;
    }
}
