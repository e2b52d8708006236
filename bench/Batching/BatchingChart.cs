using ScottPlot;

namespace EventPipeline.Bench.Batching;

/// <summary>
/// Four rows over time, the first repetition of each policy: offered and inserted events/s, mean rows per insert, the
/// exact p99 of the rows acknowledged each second (the worker's HDR histogram, within 1%) and ClickHouse's active parts.
/// </summary>
internal static class BatchingChart
{
    private static readonly Color[] Palette =
        [Colors.SteelBlue, Colors.DarkOrange, Colors.ForestGreen, Colors.Crimson, Colors.Purple, Colors.Brown, Colors.Teal, Colors.Olive, Colors.Gray, Colors.Magenta];

    public static void Save(BatchingReport report, string path)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(4);
        var load = multiplot.GetPlot(0);
        var size = multiplot.GetPlot(1);
        var p99 = multiplot.GetPlot(2);
        var parts = multiplot.GetPlot(3);
        var first = report.Runs.Where(r => r.Repetition == 1).ToList();
        if (first.Count > 0)
        {
            var offered = first[0].Series;
            var line = load.Add.ScatterLine(offered.Select(s => s.T).ToArray(), offered.Select(s => s.OfferedPerSecond).ToArray());
            line.LegendText = "offered";
            line.Color = Colors.Black;
            line.LineWidth = 2;
        }
        foreach (var (i, run) in first.Index())
        {
            var color = Palette[i % Palette.Length];
            Line(load, run.Series.Select(s => (s.T, (double?)s.InsertedPerSecond)), color, $"{run.Policy} inserted");
            Line(size, run.Series.Select(s => (s.T, s.MeanBatchRows)), color, run.Policy);
            Line(p99, run.Series.Select(s => (s.T, (double?)s.P99Ms)), color, run.Policy);
            Line(parts, run.Series.Select(s => (s.T, (double?)s.ActiveParts)), color, run.Policy);
        }
        load.Title($"{report.Profile}: {report.LoadDescription}; {report.Setup} (ClickHouse {report.Machine["clickhouse_version"]}, repetition 1)");
        load.YLabel("events/s");
        size.YLabel("mean rows per insert");
        p99.YLabel("p99 produce->visible ms (per s, HDR 1%)");
        parts.YLabel("active parts");
        parts.XLabel("seconds");
        foreach (var plot in new[] { load, size, p99, parts })
            plot.ShowLegend(Alignment.UpperRight);
        multiplot.SavePng(path, 1200, 1400);
    }

    private static void Line(Plot plot, IEnumerable<(double T, double? Value)> points, Color color, string legend)
    {
        var present = points.Where(p => p.Value is not null).ToArray();
        var line = plot.Add.ScatterLine(present.Select(p => p.T).ToArray(), present.Select(p => p.Value!.Value).ToArray());
        line.Color = color;
        line.LegendText = legend;
    }
}
