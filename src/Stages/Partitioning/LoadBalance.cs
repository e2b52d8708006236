namespace EventPipeline.Stages.Partitioning;

/// <summary>How evenly a load is spread over partitions: the figures the metrics, the bench and the learned policy use.</summary>
public static class LoadBalance
{
    /// <summary>
    /// The Gini coefficient of <paramref name="loads"/>: 0 when every partition carries the same, approaching 1 when one
    /// carries everything. 0 for an empty or all-zero load.
    /// </summary>
    public static double Gini(ReadOnlySpan<double> loads)
    {
        if (loads.Length == 0)
            return 0;
        var sorted = loads.ToArray();
        Array.Sort(sorted);
        double total = 0, weighted = 0;
        for (int i = 0; i < sorted.Length; i++)
        {
            total += sorted[i];
            weighted += (i + 1) * sorted[i];
        }
        if (total <= 0)
            return 0;
        int n = sorted.Length;
        return ((2 * weighted) / (n * total)) - ((n + 1.0) / n);
    }

    /// <summary>The hottest partition's load over the mean load: 1 is perfect balance. 0 for an all-zero load.</summary>
    public static double HottestOverMean(ReadOnlySpan<double> loads)
    {
        if (loads.Length == 0)
            return 0;
        double total = 0, max = 0;
        foreach (var load in loads)
        {
            total += load;
            max = Math.Max(max, load);
        }
        return total <= 0 ? 0 : max / (total / loads.Length);
    }

    public static double Gini(IReadOnlyList<long> counts) => Gini(counts.Select(c => (double)c).ToArray());

    public static double HottestOverMean(IReadOnlyList<long> counts) => HottestOverMean(counts.Select(c => (double)c).ToArray());
}
