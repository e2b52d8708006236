using EventPipeline.Models;
using EventPipeline.Models.Batching;

namespace EventPipeline.Bench.Batching;

/// <summary>
/// The bench's runs of one profile as the simulator's <see cref="RecordedTrace"/>, and the split the sim-to-real gate
/// needs: the simulator is calibrated on the odd repetitions and judged on the even ones, so that the gate measures
/// prediction, not the fit. With one repetition both are the same runs, and the report says so.
/// </summary>
internal static class TraceRecording
{
    /// <summary>
    /// The trace of <paramref name="runs"/>. The offered rate is what the producer really sent, second by second (the
    /// median over the runs), not what the profile asked for: on a shared machine the paced producer falls short of a
    /// rate above what its core can generate (the saturation profile's 100k/s), and the simulator must see the load the
    /// worker saw.
    /// </summary>
    public static RecordedTrace Create(BenchLoad load, double maxLatencySeconds, int maxSize, IEnumerable<PolicyRun> runs)
    {
        var ok = runs.Where(r => r.Ok).ToList();
        var seconds = (int)Math.Ceiling(load.Seconds);
        var produced = ok.Select(r => Cumulative(r.Series)).ToList();
        double[] offered = [.. Enumerable.Range(1, seconds).Select(second => produced.Count == 0 ? load.Rate(second - 0.5)
            : Math.Round(SampleStatistics.Median(produced.Select(c => c(second) - c(second - 1)))))];
        return new(load.Name, load.Description, 1.0, offered, maxLatencySeconds, maxSize,
            [.. ok.Select(r => new RecordedPolicyRun(r.Policy, r.Repetition, r.Measured.P50Ms / 1000, r.Measured.P99Ms / 1000,
                r.Measured.InsertsPerSecond, [.. r.Inserts.Where(i => i.Succeeded).Select(i => new TelemetryInsert(i.Rows, i.Bytes, i.InsertSeconds))],
                BackloggedCapacity(load, r.Series)))]);
    }

    /// <summary>The trace beside the report (batching-PROFILE-trace-latest.json): what the simulator's gate test reads.</summary>
    public static string Write(RecordedTrace trace, BatchingOptions options)
    {
        var path = Path.Combine(options.OutputDirectory, $"batching-{(options.Grid ? "grid-" : "")}{trace.Profile}-trace-latest.json");
        trace.Write(path);
        return path;
    }

    public static (IReadOnlyList<RecordedPolicyRun> Calibration, IReadOnlyList<RecordedPolicyRun> Validation, bool InSample) Split(RecordedTrace trace)
    {
        var calibration = trace.Runs.Where(r => r.Repetition % 2 == 1).ToList();
        var validation = trace.Runs.Where(r => r.Repetition % 2 == 0).ToList();
        var statics = (IEnumerable<RecordedPolicyRun> runs) => runs.Any(r => r.StaticSize is not null);
        return statics(calibration) && statics(validation) ? (calibration, validation, false) : (trace.Runs, trace.Runs, true);
    }

    /// <summary>Rows produced by time t, interpolated linearly between the series' samples (each holds the rate since the one before).</summary>
    private static Func<double, double> Cumulative(IReadOnlyList<SeriesPoint> series)
    {
        var times = new List<double> { 0 };
        var totals = new List<double> { 0 };
        foreach (var point in series)
        {
            totals.Add(totals[^1] + point.OfferedPerSecond * (point.T - times[^1]));
            times.Add(point.T);
        }
        return t =>
        {
            var i = times.FindIndex(x => x >= t);
            if (i < 0)
                return totals[^1];
            if (i == 0)
                return 0;
            return totals[i - 1] + (totals[i] - totals[i - 1]) * (t - times[i - 1]) / Math.Max(1e-9, times[i] - times[i - 1]);
        };
    }

    /// <summary>
    /// The mean insert rate from the third second of an overload until its backlog drained (fell to one second of the
    /// offered rate): the worker has work all that time, so it inserts as fast as it can. Null for a profile without
    /// an overload, whose capacity a run never shows.
    /// </summary>
    private static double? BackloggedCapacity(BenchLoad load, IReadOnlyList<SeriesPoint> series)
    {
        if (load.OverloadEndsSeconds is not { } end)
            return null;
        var drained = series.FirstOrDefault(p => p.T >= end && p.BacklogRows <= load.Rate(p.T))?.T ?? double.PositiveInfinity;
        var busy = series.Where(p => p.T >= 3 && p.T <= drained).ToList();
        return busy.Count == 0 ? null : Math.Round(busy.Average(p => p.InsertedPerSecond));
    }
}
