using System.Globalization;
using ScottPlot;

namespace EventPipeline.Bench.E2e;

/// <summary>Events/s per contender: the median as a bar, min and max as whiskers.</summary>
internal static class E2eChart
{
    public static void Save(E2eReport report, string path)
    {
        var plot = new Plot();
        var contenders = report.Contenders;
        var bars = new List<Bar>();
        for (var i = 0; i < contenders.Count; i++)
        {
            var c = contenders[i];
            if (double.IsNaN(c.MedianEventsPerSecond))
                continue;
            bars.Add(new Bar
            {
                Position = i,
                Value = c.MedianEventsPerSecond,
                FillColor = c.Name.StartsWith("pipeline", StringComparison.Ordinal) ? Colors.SteelBlue
                    : c.Name.StartsWith("peer", StringComparison.Ordinal) ? Colors.DarkOrange : Colors.Gray,
                Label = (c.MedianEventsPerSecond / 1000).ToString("N0", CultureInfo.InvariantCulture) + "k",
            });
        }
        var barPlot = plot.Add.Bars(bars);
        // Bar.Error is symmetric; min and max are not, so the whiskers are drawn as lines.
        foreach (var (i, c) in contenders.Index().Where(x => !double.IsNaN(x.Item.MedianEventsPerSecond)))
        {
            Whisker(plot.Add.Line(i, c.MinEventsPerSecond, i, c.MaxEventsPerSecond));
            Whisker(plot.Add.Line(i - 0.12, c.MinEventsPerSecond, i + 0.12, c.MinEventsPerSecond));
            Whisker(plot.Add.Line(i - 0.12, c.MaxEventsPerSecond, i + 0.12, c.MaxEventsPerSecond));
        }
        barPlot.ValueLabelStyle.FontSize = 14;
        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, contenders.Count).Select(i => (double)i)], [.. contenders.Select(c => c.Name)]);
        plot.Axes.Bottom.TickLabelStyle.FontSize = 13;
        plot.Axes.Margins(bottom: 0);
        plot.YLabel("events/s (median; whiskers min..max)");
        plot.Title($"{report.Events:N0} events, {report.Partitions} partitions, {report.Repeat} runs, {report.Machine["cores"]} cores, ClickHouse {report.Machine["clickhouse_version"]}");
        plot.SavePng(path, 1200, 650);
    }

    private static void Whisker(ScottPlot.Plottables.LinePlot line)
    {
        line.LineWidth = 2;
        line.LineColor = Colors.Black;
        line.MarkerSize = 0;
    }
}
