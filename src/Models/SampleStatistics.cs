namespace EventPipeline.Models;

/// <summary>Summaries of measured samples, shared by the simulator's calibration and the benches.</summary>
public static class SampleStatistics
{
    /// <summary>The middle value (the mean of the two middle ones for an even count); NaN for no values.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
            return double.NaN;
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
