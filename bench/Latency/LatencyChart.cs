using System.Globalization;
using ScottPlot;

namespace EventPipeline.Bench.Latency;

/// <summary>Produce->visible percentiles per offered load: medians as lines, each run's p99 as a dot, the target as a dashed line.</summary>
internal static class LatencyChart
{
    public static void Save(LatencyReport report, string path)
    {
        var plot = new Plot();
        var levels = report.Levels;
        double[] xs = [.. levels.Select(l => (double)l.Level)];
        (string Name, Func<LevelSummary, double> Value, Color Color)[] series =
        [
            ("p50", l => l.P50Ms, Colors.SeaGreen), ("p95", l => l.P95Ms, Colors.SteelBlue),
            ("p99", l => l.P99Ms, Colors.DarkOrange), ("max", l => l.MaxMs, Colors.Gray),
        ];
        foreach (var (name, value, color) in series)
        {
            var line = plot.Add.Scatter(xs, [.. levels.Select(value)], color);
            line.LineWidth = 2;
            line.MarkerSize = 7;
            line.LegendText = $"{name} (median of runs)";
        }
        var runs = levels.SelectMany(l => l.P99MsPerRun.OfType<long>().Select(v => (X: (double)l.Level, Y: (double)v))).ToArray();
        if (runs.Length > 0)
        {
            var dots = plot.Add.Markers(runs.Select(r => r.X).ToArray(), runs.Select(r => r.Y).ToArray(), MarkerShape.OpenCircle, 9, Colors.DarkOrange);
            dots.LegendText = "p99 of each run";
        }
        var target = plot.Add.HorizontalLine(report.Target.TargetP99Ms, 1.5f, Colors.Crimson, LinePattern.Dashed);
        target.LegendText = $"target: p99 <= {report.Target.TargetP99Ms} ms at 50%";
        plot.Axes.Bottom.SetTicks(xs, [.. levels.Select(l => $"{l.Level}%\n{(l.OfferedPerSecond / 1000).ToString("N1", CultureInfo.InvariantCulture)}k/s")]);
        var top = Math.Max(report.Target.TargetP99Ms, levels.Select(l => l.MaxMs).Concat(runs.Select(r => r.Y)).Where(double.IsFinite).DefaultIfEmpty(0).Max());
        plot.Axes.SetLimits(0, 100, 0, top * 1.15);
        plot.XLabel("offered load, % of the maximum rate");
        plot.YLabel("produce -> visible in ClickHouse, ms");
        plot.ShowLegend(Alignment.UpperLeft);
        plot.Title($"Latency from the worker's /latency: max rate {report.MaxRate.EventsPerSecond:N0}/s, {report.Options.Repeat} x {report.Options.Seconds} s per level, " +
            $"{report.Machine["cores"]} cores, ClickHouse {report.Machine["clickhouse_version"]}");
        plot.SavePng(path, 1100, 650);
    }
}
