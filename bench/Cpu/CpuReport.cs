using EventPipeline.Models;
using System.Globalization;
using System.Text.Json;
using EventPipeline.Bench.E2e;
using ScottPlot;

namespace EventPipeline.Bench.Cpu;

/// <summary>
/// Per contender and process: CPU microseconds per event from the interleaved small/large pairs, as the median of the
/// per-repetition figures with a bootstrap 95% interval of that median; plus wall time and the scrape cost.
/// </summary>
internal sealed record CpuReport(DateTime StartedUtc, Dictionary<string, object> Machine, CpuOptions Options,
    Dictionary<string, Dictionary<string, MedianInterval>> MicrosecondsPerEvent, Dictionary<string, double> MedianEventsPerSecondLarge,
    ScrapeCost Scrape, BuildComparison? Comparison, List<CpuRun> Runs, string Method)
{
    /// <summary>The contender name of the other build in an A/B run (--baseline).</summary>
    public const string Baseline = "baseline";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals, // the peer has no scrape: NaN
    };

    public static CpuReport Create(DateTime startedUtc, CpuOptions options, string clickHouseVersion, List<CpuRun> runs)
    {
        var perEvent = new Dictionary<string, Dictionary<string, MedianInterval>>();
        var rates = new Dictionary<string, double>();
        foreach (var contender in runs.Select(r => r.Contender).Distinct())
        {
            var mine = runs.Where(r => r.Contender == contender).ToList();
            perEvent[contender] = mine[0].CpuSeconds.Keys.ToDictionary(process => process, process =>
            {
                var pairs = Enumerable.Range(1, options.Repeat).Select(rep =>
                    {
                        var small = mine.Single(r => r.Repetition == rep && r.Events == options.Small).CpuSeconds[process];
                        var large = mine.Single(r => r.Repetition == rep && r.Events == options.Large).CpuSeconds[process];
                        return (large - small) / (options.Large - options.Small) * 1e6;
                    }).ToArray();
                return MedianInterval.From(pairs);
            });
            perEvent[contender]["total"] = MedianInterval.From(Enumerable.Range(1, options.Repeat).Select(rep =>
            {
                double Sum(long events) => mine.Single(r => r.Repetition == rep && r.Events == events).CpuSeconds.Values.Sum();
                return (Sum(options.Large) - Sum(options.Small)) / (options.Large - options.Small) * 1e6;
            }).ToArray());
            rates[contender] = Math.Round(SampleStatistics.Median(mine.Where(r => r.Events == options.Large).Select(r => r.Events / r.Seconds)));
        }
        var pipelineRuns = runs.Where(r => r.Contender == "pipeline").ToList();
        var scrape = new ScrapeCost(Math.Round(SampleStatistics.Median(pipelineRuns.Select(r => r.ScrapeCpuMs)), 2),
            pipelineRuns.Count == 0 ? 0 : pipelineRuns[^1].ScrapeBytes, options.Partitions);
        var machine = new Dictionary<string, object>
        {
            ["cores"] = Environment.ProcessorCount, ["clickhouse_version"] = clickHouseVersion,
            ["dotnet"] = Environment.Version.ToString(), ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        };
        const string method = "CPU = utime+stime from /proc/PID/stat of the worker process (its own process, defaults, /metrics scraped at " +
            "the scrape interval), of the ClickHouse server, and of the bench process (which hosts the embedded broker and polls count()); " +
            "kcat and clickhouse-client from bash `times`. Per event = (CPU(large) - CPU(small)) / (large - small) within each repetition, " +
            "sizes interleaved; median over repetitions, 95% bootstrap interval of the median. Scrape: worker CPU over 100 scrapes of an idle " +
            "worker holding every partition, minus the idle worker's own CPU over as long a time without scrapes, divided by 100.";
        return new CpuReport(startedUtc, machine, options, perEvent, rates, scrape, BuildComparison.Create(options, runs), runs, method);
    }

    public void Print()
    {
        Console.WriteLine();
        Console.WriteLine($"CPU microseconds per event ({Options.Input}, {Options.Small:N0} vs {Options.Large:N0} events, {Options.Repeat} interleaved repetitions):");
        foreach (var (contender, processes) in MicrosecondsPerEvent)
        {
            foreach (var (process, value) in processes)
                Console.WriteLine($"  {contender,-24} {process,-18} {value.Median,7:F2} us  (95% CI {value.Low:F2}..{value.High:F2}; runs {string.Join(" ", value.PerRepetition.Select(v => v.ToString("F2", CultureInfo.InvariantCulture)))})");
            Console.WriteLine($"  {contender,-24} {"events/s (large)",-18} {MedianEventsPerSecondLarge[contender],7:N0}");
        }
        Console.WriteLine($"  /metrics scrape of an idle worker with {Scrape.Partitions} partitions: {Scrape.MedianCpuMs:F2} ms CPU, {Scrape.Bytes / 1024} KiB");
        if (Comparison is { } ab)
            Console.WriteLine($"  A/B worker CPU per event, this build - baseline: {ab.WorkerDifference.Median:F2} us (95% CI {ab.WorkerDifference.Low:F2}..{ab.WorkerDifference.High:F2}), " +
                $"ratio {ab.WorkerRatio.Median:F3} (95% CI {ab.WorkerRatio.Low:F3}..{ab.WorkerRatio.High:F3}); baseline {ab.BaselineDirectory}");
    }

    public IReadOnlyList<string> Write(string directory) =>
        PerfDataFiles.Write(directory, Options.Label is null ? $"cpu-{Options.Input}" : $"cpu-{Options.Input}-{Options.Label}", StartedUtc, JsonSerializer.Serialize(this, Json), SaveChart);

    /// <summary>Stacked bars: each contender's CPU per event split by process; whiskers on the total's interval.</summary>
    private void SaveChart(string path)
    {
        var plot = new Plot();
        var contenders = MicrosecondsPerEvent.Keys.ToList();
        Color[] palette = [Colors.SteelBlue, Colors.DarkOrange, Colors.Gray, Colors.SeaGreen];
        var bars = new List<Bar>();
        var processes = MicrosecondsPerEvent.Values.SelectMany(p => p.Keys).Where(k => k != "total").Distinct().ToList();
        for (var i = 0; i < contenders.Count; i++)
        {
            double bottom = 0;
            foreach (var (process, index) in processes.Select((p, j) => (p, j)))
            {
                if (!MicrosecondsPerEvent[contenders[i]].TryGetValue(process, out var value))
                    continue;
                var height = Math.Max(0, value.Median);
                bars.Add(new Bar { Position = i, ValueBase = bottom, Value = bottom + height, FillColor = palette[index % palette.Length], Label = $"{process} {value.Median:F2}" });
                bottom += height;
            }
        }
        var barPlot = plot.Add.Bars(bars);
        barPlot.ValueLabelStyle.FontSize = 12;
        foreach (var (i, contender) in contenders.Index())
        {
            var total = MicrosecondsPerEvent[contender]["total"];
            var line = plot.Add.Line(i, total.Low, i, total.High);
            line.LineWidth = 2;
            line.LineColor = Colors.Black;
            line.MarkerSize = 0;
        }
        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, contenders.Count).Select(i => (double)i)], [.. contenders]);
        plot.Axes.Margins(bottom: 0);
        plot.YLabel("CPU microseconds per event (stacked by process; whisker: 95% CI of the total)");
        plot.Title($"{(Options.Label is null ? "" : Options.Label + ": ")}{Options.Input} events, {Options.Small:N0} vs {Options.Large:N0}, {Options.Partitions} partitions, {Options.Repeat} runs, {Machine["cores"]} cores");
        plot.SavePng(path, 1100, 650);
    }
}

internal sealed record ScrapeCost(double MedianCpuMs, int Bytes, int Partitions);

/// <summary>
/// An A/B run (--baseline): the worker's CPU per event of this build minus (and divided by) the baseline build's, paired
/// within each repetition (the two ran back to back on the same topics), with bootstrap 95% intervals of the medians.
/// </summary>
internal sealed record BuildComparison(string BaselineDirectory, MedianInterval WorkerDifference, MedianInterval WorkerRatio)
{
    public static BuildComparison? Create(CpuOptions options, List<CpuRun> runs)
    {
        if (options.BaselineDirectory is null)
            return null;
        double WorkerPerEvent(string contender, int repetition)
        {
            double Cpu(long events) => runs.Single(r => r.Contender == contender && r.Repetition == repetition && r.Events == events).CpuSeconds["worker"];
            return (Cpu(options.Large) - Cpu(options.Small)) / (options.Large - options.Small) * 1e6;
        }
        var pairs = Enumerable.Range(1, options.Repeat).Select(rep => (This: WorkerPerEvent("pipeline", rep), Baseline: WorkerPerEvent(CpuReport.Baseline, rep))).ToList();
        return new BuildComparison(options.BaselineDirectory, MedianInterval.From([.. pairs.Select(p => p.This - p.Baseline)]),
            MedianInterval.From([.. pairs.Select(p => p.This / p.Baseline)]));
    }
}
