using EventPipeline.Models;
using System.Runtime.InteropServices;
using System.Text.Json;
using EventPipeline.Bench.E2e;
using ScottPlot;

namespace EventPipeline.Bench.Memory;

/// <summary>
/// Per backlog: the worker's peak and median RSS (median over repetitions), the large/small ratios and the issue's
/// bound (large within 10% of small), and every run with its samples.
/// </summary>
/// <param name="EventBytes">Mean bytes per event in the broker (JSON value plus an assumed record overhead), from a sample of the generator.</param>
internal sealed record MemoryReport(DateTime StartedUtc, Dictionary<string, object> Machine, MemoryOptions Options, int Partitions, double EventBytes,
    double SmallPeakRssMiB, double LargePeakRssMiB, double SmallMedianRssMiB, double LargeMedianRssMiB, double PeakRatio, double MedianRatio,
    bool TargetMet, List<MemoryRun> Runs, string Method)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static MemoryReport Create(DateTime startedUtc, MemoryOptions options, int partitions, string clickHouseVersion, List<MemoryRun> runs)
    {
        double Median(long events, Func<MemoryRun, double> value) => Math.Round(SampleStatistics.Median(runs.Where(r => r.Events == events).Select(value)), 1);
        var smallPeak = Median(options.Small, r => r.PeakRssMiB);
        var largePeak = Median(options.Large, r => r.PeakRssMiB);
        var smallMedian = Median(options.Small, r => r.MedianRssMiB);
        var largeMedian = Median(options.Large, r => r.MedianRssMiB);
        var machine = new Dictionary<string, object>
        {
            ["cores"] = Environment.ProcessorCount, ["clickhouse_version"] = clickHouseVersion,
            ["dotnet"] = Environment.Version.ToString(), ["os"] = RuntimeInformation.OSDescription,
        };
        var method = $"Both backlogs are loaded (round-robin, {partitions} partitions each, watermarks verified) before any worker starts; a fresh " +
            "worker process (`pipeline run`, the defaults a user gets, /metrics scraped at " +
            $"{options.ScrapeInterval.TotalSeconds:F0} s) drains each while VmRSS (/proc/PID/status) is read every {options.SampleInterval.TotalMilliseconds:F0} ms. " +
            "Peak: the highest sample; median: over the samples from the first row visible until the last. After each drain count() and " +
            "uniqExact(event_id) equal the events loaded and no offset was reset (checked; the run fails otherwise). Ratios: large over small, " +
            $"of the medians over {options.Repeat} repetition(s); the target is a peak ratio <= {MemoryBenchmark.TargetRatio:F2}.";
        var peakRatio = Math.Round(largePeak / smallPeak, 3);
        return new MemoryReport(startedUtc, machine, options, partitions, Math.Round(BacklogPartitions.EventBytes), smallPeak, largePeak, smallMedian, largeMedian, peakRatio,
            Math.Round(largeMedian / smallMedian, 3), peakRatio <= MemoryBenchmark.TargetRatio, runs, method);
    }

    public void Print()
    {
        Console.WriteLine();
        Console.WriteLine($"Worker RSS while draining a backlog ({Partitions} partitions, median of {Options.Repeat} run(s)):");
        Console.WriteLine($"  {Options.Small,10:N0} events: peak {SmallPeakRssMiB,7:F1} MiB, median {SmallMedianRssMiB,7:F1} MiB");
        Console.WriteLine($"  {Options.Large,10:N0} events: peak {LargePeakRssMiB,7:F1} MiB, median {LargeMedianRssMiB,7:F1} MiB");
        Console.WriteLine($"  large/small: peak {PeakRatio:F3}, median {MedianRatio:F3}; target peak ratio <= {MemoryBenchmark.TargetRatio:F2}: {(TargetMet ? "met" : "MISSED")}");
    }

    public IReadOnlyList<string> Write(string directory) =>
        PerfDataFiles.Write(directory, "memory", StartedUtc, JsonSerializer.Serialize(this, Json), SaveChart);

    /// <summary>RSS over the drain, one line per run, coloured by backlog; x is the time into the drain in percent of its duration, so that both sizes share an axis.</summary>
    private void SaveChart(string path)
    {
        var plot = new Plot();
        foreach (var run in Runs)
        {
            var color = run.Events == Options.Small ? Colors.SteelBlue : Colors.DarkOrange;
            var line = plot.Add.ScatterLine(run.Samples.Select(s => s[0] / run.Seconds * 100).ToArray(), run.Samples.Select(s => s[1]).ToArray(), color);
            line.LineWidth = 2;
            line.LegendText = $"{run.Events:N0} events, run {run.Repetition}: peak {run.PeakRssMiB:F0} MiB, {run.Seconds:F0} s";
        }
        plot.Axes.SetLimitsY(0, Runs.Max(r => r.PeakRssMiB) * 1.15);
        plot.XLabel("time since the worker started, % of the time until the whole backlog was visible");
        plot.YLabel("worker VmRSS, MiB");
        plot.ShowLegend(Alignment.LowerRight);
        plot.Title($"Worker RSS while draining: peak ratio {PeakRatio:F2} (target <= {MemoryBenchmark.TargetRatio:F2}), {Partitions} partitions, {Machine["cores"]} cores");
        plot.SavePng(path, 1100, 650);
    }
}
