using ScottPlot;

namespace EventPipeline.Bench.Faults;

/// <summary>ClickHouse row count over time, one panel per guarantee, with a vertical line at each fault.</summary>
internal static class FaultsChart
{
    public static void Save(FaultsReport report, string path)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(report.Runs.Count);
        for (var i = 0; i < report.Runs.Count; i++)
        {
            var run = report.Runs[i];
            var plot = multiplot.GetPlot(i);
            var xs = run.RowCountSeries.Select(p => p[0]).ToArray();
            var ys = run.RowCountSeries.Select(p => p[1]).ToArray();
            if (xs.Length > 0)
            {
                var line = plot.Add.ScatterLine(xs, ys, Colors.SteelBlue);
                line.LineWidth = 2;
                line.LegendText = "count() in ClickHouse";
            }
            var good = plot.Add.HorizontalLine(run.Good, 1, Colors.Gray, LinePattern.Dotted);
            good.LegendText = $"good events ({run.Good:N0})";
            foreach (var fault in run.Faults)
            {
                var (color, label) = fault.Kind switch
                {
                    FaultKinds.WorkerKill => (Colors.Red, "worker SIGKILL"),
                    FaultKinds.ClickHouseKill => (Colors.DarkOrange, "ClickHouse SIGKILL + restart"),
                    _ => (Colors.Purple, "Kafka broker down/up"),
                };
                var marker = plot.Add.VerticalLine(fault.AtSeconds, 1, color, fault.Kind == FaultKinds.WorkerKill ? LinePattern.Dashed : LinePattern.Solid);
                if (run.Faults.First(f => f.Kind == fault.Kind) == fault)
                    marker.LegendText = label;
            }
            plot.Legend.Alignment = Alignment.LowerRight;
            plot.XLabel("seconds since the first worker start");
            plot.YLabel("rows");
            plot.Title($"{run.Guarantee} ({(run.TableEngine.StartsWith("Replicated", StringComparison.Ordinal) ? "ReplicatedMergeTree" : run.TableEngine)}): " +
                $"{run.WorkerKills} kills, {run.Duplicates:N0} duplicates, {run.Lost:N0} lost, {run.TotalSeconds:F0} s");
            plot.Axes.Margins(bottom: 0);
        }
        multiplot.SavePng(path, 1200, 450 * Math.Max(1, report.Runs.Count));
    }
}
