using System.Globalization;
using ScottPlot;

namespace EventPipeline.Bench.Codec;

/// <summary>Two rows: bytes per event and encode+decode events/s, one bar per codec and dataset.</summary>
internal static class CodecChart
{
    private static readonly Color[] Palette = [Colors.SteelBlue, Colors.DarkOrange];

    public static void Save(IReadOnlyList<CodecBenchmark.Result> results, IReadOnlyList<string> datasets, string path)
    {
        var codecs = results.Select(r => r.Codec).Distinct().ToList();
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        var size = multiplot.GetPlot(0);
        var speed = multiplot.GetPlot(1);
        foreach (var (d, dataset) in datasets.Index())
        {
            var sizeBars = new List<Bar>();
            var speedBars = new List<Bar>();
            foreach (var (c, codec) in codecs.Index())
            {
                var r = results.Single(x => x.Codec == codec && x.Dataset == dataset);
                var position = c * (datasets.Count + 1) + d;
                sizeBars.Add(new Bar { Position = position, Value = r.BytesPerEvent, FillColor = Palette[d % Palette.Length], Label = r.BytesPerEvent.ToString("F0", CultureInfo.InvariantCulture) });
                if (codec != "raw-json") // no work at all: its bar would flatten every other one
                    speedBars.Add(new Bar { Position = position, Value = r.EventsPerSecond / 1000, FillColor = Palette[d % Palette.Length], Label = (r.EventsPerSecond / 1000).ToString("N0", CultureInfo.InvariantCulture) });
            }
            var sizePlot = size.Add.Bars(sizeBars);
            sizePlot.LegendText = dataset;
            speed.Add.Bars(speedBars).LegendText = dataset;
        }
        foreach (var plot in new[] { size, speed })
        {
            plot.Axes.Bottom.SetTicks([.. codecs.Select((_, c) => c * (datasets.Count + 1) + (datasets.Count - 1) / 2.0)], [.. codecs]);
            plot.Axes.Bottom.TickLabelStyle.FontSize = 11;
            plot.Axes.Margins(bottom: 0);
            plot.ShowLegend(Alignment.UpperRight);
        }
        size.YLabel("bytes per event on the wire");
        size.Title("Per-message codecs: bytes/event (lower is better) and encode+decode thousand events/s");
        speed.YLabel("thousand events/s (median; raw-json omitted)");
        multiplot.SavePng(path, 1400, 900);
    }
}
