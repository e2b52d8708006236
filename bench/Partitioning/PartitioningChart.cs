using ScottPlot;

namespace EventPipeline.Bench.Partitioning;

/// <summary>
/// Two panels side by side: the Gini of the partition load and the slower worker's p99, one group of bars per workload,
/// one bar per strategy (median of the repetitions, whisker: bootstrap 95% interval).
/// </summary>
internal static class PartitioningChart
{
    private static readonly Color[] Palette = [Colors.Gray, Colors.SeaGreen, Colors.SteelBlue, Colors.DarkGoldenRod, Colors.MediumPurple, Colors.Crimson, Colors.Teal];

    public static void Save(PartitioningReport report, string path)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        Draw(multiplot.GetPlot(0), report, s => s.Gini, "Gini of messages per partition (0 = even)");
        Draw(multiplot.GetPlot(1), report, s => s.P99Ms, "p99 produce->visible, slower worker, ms (exact)");
        multiplot.SavePng(path, 1500, 650);
    }

    private static void Draw(Plot plot, PartitioningReport report, Func<StrategySummary, MedianInterval> value, string title)
    {
        var workloads = report.Options.Workloads;
        var strategies = report.Options.Strategies;
        double width = 0.8 / strategies.Count;
        for (int s = 0; s < strategies.Count; s++)
        {
            var bars = new List<Bar>();
            for (int w = 0; w < workloads.Count; w++)
            {
                var summary = report.Summaries.Single(x => x.Workload == workloads[w] && x.Strategy == strategies[s]);
                var v = value(summary);
                double x = w + ((s - ((strategies.Count - 1) / 2.0)) * width);
                bars.Add(new Bar { Position = x, Value = v.Median, Error = 0, FillColor = Palette[s % Palette.Length], Size = width * 0.9 });
                plot.Add.Line(x, v.Low, x, v.High).Color = Colors.Black;
            }
            var plotted = plot.Add.Bars(bars);
            plotted.LegendText = strategies[s];
        }
        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, workloads.Count).Select(i => (double)i)], [.. workloads]);
        plot.Axes.Margins(bottom: 0);
        plot.ShowLegend(Alignment.UpperLeft);
        plot.Title(title);
    }
}
