using ScottPlot;

namespace EventPipeline.Bench.Batching;

/// <summary>Three rows over time: offered and inserted events/s, mean flushed batch size, p99 of the rows acknowledged each second.</summary>
internal static class BatchingChart
{
    private static readonly Color[] Palette = [Colors.SteelBlue, Colors.DarkOrange, Colors.ForestGreen, Colors.Crimson, Colors.Purple, Colors.Brown];

    public static void Save(BatchingReport report, string path)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(3);
        var load = multiplot.GetPlot(0);
        var size = multiplot.GetPlot(1);
        var p99 = multiplot.GetPlot(2);
        var offered = report.Policies.First().Series;
        var line = load.Add.ScatterLine(offered.Select(s => s.T).ToArray(), offered.Select(s => s.OfferedPerSecond).ToArray());
        line.LegendText = "offered";
        line.Color = Colors.Black;
        line.LineWidth = 2;
        foreach (var (i, policy) in report.Policies.Index())
        {
            var color = Palette[i % Palette.Length];
            var inserted = load.Add.ScatterLine(policy.Series.Select(s => s.T).ToArray(), policy.Series.Select(s => s.InsertedPerSecond).ToArray());
            inserted.Color = color;
            inserted.LegendText = $"{policy.Policy} inserted";
            var withBatches = policy.Series.Where(s => s.MeanBatchRows is not null).ToArray();
            var sizes = size.Add.ScatterLine(withBatches.Select(s => s.T).ToArray(), withBatches.Select(s => s.MeanBatchRows!.Value).ToArray());
            sizes.Color = color;
            sizes.LegendText = policy.Policy;
            var withLatency = policy.Series.Where(s => s.P99Ms is not null).ToArray();
            var latency = p99.Add.ScatterLine(withLatency.Select(s => s.T).ToArray(), withLatency.Select(s => s.P99Ms!.Value).ToArray());
            latency.Color = color;
            latency.LegendText = policy.Policy;
        }
        load.Title($"{report.Profile}: {report.LoadDescription} (ClickHouse {report.ClickHouseVersion})");
        load.YLabel("events/s");
        size.YLabel("mean rows per insert");
        p99.YLabel("p99 end-to-end ms (per s)");
        p99.XLabel("seconds");
        foreach (var plot in new[] { load, size, p99 })
            plot.ShowLegend(Alignment.UpperRight);
        multiplot.SavePng(path, 1200, 1100);
    }
}
