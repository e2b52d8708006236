using EventPipeline.Models;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace EventPipeline.Bench.Partitioning;

/// <summary>One strategy on one workload over the repetitions: medians with bootstrap 95% intervals.</summary>
/// <param name="P99VsPkgMs">This strategy's p99 minus PKG's, paired by repetition (same events); null for PKG itself or without PKG.</param>
/// <param name="GiniVsPkg">The same for the Gini of the partition load.</param>
internal sealed record StrategySummary(string Workload, string Strategy, int Runs, MedianInterval Gini, MedianInterval HottestOverMean,
    MedianInterval BusierWorkerShare, MedianInterval MaxLag, MedianInterval P99Ms, MedianInterval ThroughputPerSecond, MedianInterval DrainSeconds,
    double PartitionsPerAppMean, double PartitionsPerAppWeighted, int PartitionsPerAppMax, double EmptyPartitions, double RowsPerInsert, double WorkersPerApp,
    MedianInterval? P99VsPkgMs, MedianInterval? GiniVsPkg, int Fallbacks)
{
    public static StrategySummary From(string workload, string strategy, List<PartitioningRun> runs, List<PartitioningRun> all)
    {
        var mine = runs.OrderBy(r => r.Repetition).ToList();
        MedianInterval Of(Func<PartitioningRun, double> value) => MedianInterval.From([.. mine.Select(value)]);
        MedianInterval? VersusPkg(Func<PartitioningRun, double> value)
        {
            if (strategy == "pkg")
                return null;
            var pairs = mine.Select(r => (Mine: r, Pkg: all.SingleOrDefault(p => p.Workload == workload && p.Strategy == "pkg" && p.Repetition == r.Repetition)))
                .Where(p => p.Pkg is not null).Select(p => value(p.Mine) - value(p.Pkg!)).ToArray();
            return pairs.Length == 0 ? null : MedianInterval.From(pairs);
        }
        return new StrategySummary(workload, strategy, mine.Count, Of(r => r.Gini), Of(r => r.HottestOverMean), Of(r => r.BusierWorkerShare),
            Of(r => r.MaxLagPerWorker.Max()), Of(r => r.P99Ms), Of(r => r.ThroughputPerSecond), Of(r => r.DrainSeconds),
            Math.Round(SampleStatistics.Median(mine.Select(r => r.PartitionsPerAppMean)), 3), Math.Round(SampleStatistics.Median(mine.Select(r => r.PartitionsPerAppWeighted)), 3),
            mine.Max(r => r.PartitionsPerAppMax), SampleStatistics.Median(mine.Select(r => (double)r.EmptyPartitions)), Math.Round(SampleStatistics.Median(mine.Select(r => r.RowsPerInsert))),
            Math.Round(SampleStatistics.Median(mine.Select(r => r.WorkersPerApp)), 3),
            VersusPkg(r => r.P99Ms), VersusPkg(r => r.Gini), mine.Count(r => r.PolicyFallback is not null));
    }
}

/// <param name="FailedRepetitions">Repetitions left out, with the reason (a worker that exited, rows missing).</param>
/// <param name="WorkersKilledAfterSlowStop">Workers that had not exited 60 s after SIGTERM (after all their rows were visible) and were killed.</param>
internal sealed record PartitioningReport(DateTime StartedUtc, Dictionary<string, object> Machine, PartitioningOptions Options, string? LearnedModelVersion,
    string Method, List<StrategySummary> Summaries, List<string> FailedRepetitions, int WorkersKilledAfterSlowStop, List<PartitioningRun> Runs)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static PartitioningReport Create(DateTime startedUtc, PartitioningOptions options, string clickHouseVersion, string? learnedVersion, List<PartitioningRun> runs,
        List<string> failedRepetitions, int workersKilled)
    {
        var machine = new Dictionary<string, object>
        {
            ["cores"] = Environment.ProcessorCount, ["clickhouse_version"] = clickHouseVersion,
            ["dotnet"] = Environment.Version.ToString(), ["os"] = RuntimeInformation.OSDescription,
        };
        var summaries = options.Workloads.SelectMany(w => options.Strategies.Select(s =>
            StrategySummary.From(w, s, [.. runs.Where(r => r.Workload == w && r.Strategy == s)], runs))).ToList();
        var method = $"Each repetition: a fresh topic of {options.Partitions} partitions on the embedded 3-broker cluster, two fresh `pipeline run` processes in one " +
            $"consumer group (cooperative-sticky: half the partitions each, by count), {(options.Pin ? "each pinned to its own core with taskset" : "unpinned")}, the user's defaults; " +
            $"then one run per workload and strategy, each waiting for all its rows before the next; per run the bench's generator produces {options.Events:N0} events at {options.Rate:N0}/s keyed by app_id over {options.Apps} apps whose weights follow " +
            "the workload (src/Models/Partitioning/PartitioningWorkload.cs), placed by the strategy. Gini and hottest/mean: of the producer's exact " +
            "messages per partition. Workers per app: how many of the two workers " +
            "an app's events reached (from each worker's assigned partitions), averaged over events: 1 = each insert holds all of an app's rows of its interval. " +
            "Partitions per app: distinct partitions each app_id landed on. Busier worker: its share of the inserted rows. " +
            "Lag: each worker's pipeline_kafka_consumer_lag summed over its partitions, sampled every 250 ms, the highest. p99: each worker's " +
            "GET /latency?interval=true (exact per-row produce->acknowledged times in an HDR histogram, 1%) over the run's rows, the slower worker's (the combined p99 is at " +
            "most that). Throughput: events over first-produced to last-visible. Every run checks that no offset was reset, every repetition that count() " +
            "equals the events produced after the workers stopped. Repetitions use the same seed for every strategy (paired); the strategies run in a seeded random order per repetition and workload. " +
            "Medians with bootstrap 95% intervals; the differences to PKG are paired by repetition.";
        return new PartitioningReport(startedUtc, machine, options, learnedVersion, method, summaries, failedRepetitions, workersKilled, runs);
    }

    public void Print()
    {
        Console.WriteLine();
        Console.WriteLine($"Partitioning, {Options.Partitions} partitions, 2 workers, {Options.Events:N0} events at {Options.Rate:N0}/s, median of {Options.Repeat - FailedRepetitions.Count} (95% CI):");
        foreach (var failure in FailedRepetitions)
            Console.WriteLine($"  left out: {failure}");
        if (WorkersKilledAfterSlowStop > 0)
            Console.WriteLine($"  {WorkersKilledAfterSlowStop} workers had not exited 60 s after SIGTERM and were killed (their rows were all visible)");
        foreach (var group in Summaries.GroupBy(s => s.Workload))
        {
            Console.WriteLine($"  {group.Key}");
            Console.WriteLine($"    {"strategy",-13} {"gini",20} {"hottest/mean",20} {"busier",7} {"max lag",9} {"p99 ms",22} {"p99-pkg ms",22} {"apps on",8} {"max",4} {"workers",7} {"ev/s",8}");
            foreach (var s in group)
                Console.WriteLine($"    {s.Strategy,-13} {Ci(s.Gini, "F3"),20} {Ci(s.HottestOverMean, "F2"),20} {s.BusierWorkerShare.Median,7:P0} {s.MaxLag.Median,9:N0} " +
                    $"{Ci(s.P99Ms, "F0"),22} {(s.P99VsPkgMs is null ? "-" : Ci(s.P99VsPkgMs, "F0")),22} {s.PartitionsPerAppMean,8:F2} {s.PartitionsPerAppMax,4} {s.WorkersPerApp,7:F2} {s.ThroughputPerSecond.Median,8:N0}" +
                    (s.Fallbacks > 0 ? $"  {s.Fallbacks} FALLBACKS" : ""));
        }
    }

    private static string Ci(MedianInterval value, string format) =>
        $"{value.Median.ToString(format, System.Globalization.CultureInfo.InvariantCulture)} ({value.Low.ToString(format, System.Globalization.CultureInfo.InvariantCulture)}..{value.High.ToString(format, System.Globalization.CultureInfo.InvariantCulture)})";

    public IReadOnlyList<string> Write(string directory) =>
        PerfDataFiles.Write(directory, "partitioning", StartedUtc, JsonSerializer.Serialize(this, Json), path => PartitioningChart.Save(this, path));
}
