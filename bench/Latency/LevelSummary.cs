using EventPipeline.Models;
using EventPipeline.Bench.E2e;

namespace EventPipeline.Bench.Latency;

/// <summary>
/// One offered load over its repetitions: medians of each run's percentiles and rates, and every run's raw value
/// (in repetition order). A run that acknowledged no row in its window has no percentiles and is left out of the medians.
/// </summary>
internal sealed record LevelSummary(int Level, double OfferedPerSecond, double MedianProducedPerSecond, double MedianInsertedPerSecond,
    double P50Ms, double P95Ms, double P99Ms, double MaxMs,
    long?[] P50MsPerRun, long?[] P95MsPerRun, long?[] P99MsPerRun, long?[] MaxMsPerRun, long[] InsertedPerRun)
{
    public static LevelSummary From(int level, IReadOnlyList<LatencyRun> runs)
    {
        var ordered = runs.OrderBy(r => r.Repetition).ToList();
        long?[] Each(Func<LatencyRun, long?> value) => [.. ordered.Select(value)];
        double Median(long?[] values) => SampleStatistics.Median(values.OfType<long>().Select(v => (double)v));
        var p50 = Each(r => r.Latency.P50Ms);
        var p95 = Each(r => r.Latency.P95Ms);
        var p99 = Each(r => r.Latency.P99Ms);
        var max = Each(r => r.Latency.MaxMs);
        return new LevelSummary(level, ordered[0].OfferedPerSecond,
            Math.Round(SampleStatistics.Median(ordered.Select(r => r.ProducedPerSecond))), Math.Round(SampleStatistics.Median(ordered.Select(r => r.InsertedPerSecond))),
            Median(p50), Median(p95), Median(p99), Median(max), p50, p95, p99, max, [.. ordered.Select(r => r.Latency.Count)]);
    }
}
