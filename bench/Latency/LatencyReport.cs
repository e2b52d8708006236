using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace EventPipeline.Bench.Latency;

/// <summary>Per offered load: medians over the repetitions of the worker's p50/p95/p99/max produce->visible, the raw runs, and the issue's target.</summary>
/// <param name="MetricsScrapes">/metrics scrapes of the paced worker while it ran (Prometheus' interval).</param>
internal sealed record LatencyReport(DateTime StartedUtc, Dictionary<string, object> Machine, LatencyOptions Options, MaxRate MaxRate,
    List<LevelSummary> Levels, LatencyTarget Target, int MetricsScrapes, List<LatencyRun> Runs, string Method)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, // a level with no acknowledged row: NaN
    };

    public static LatencyReport Create(DateTime startedUtc, LatencyOptions options, string clickHouseVersion, MaxRate maxRate, List<LatencyRun> runs, int scrapes)
    {
        var levels = options.Levels.Order().Select(level => LevelSummary.From(level, [.. runs.Where(r => r.Level == level)])).ToList();
        var machine = new Dictionary<string, object>
        {
            ["cores"] = Environment.ProcessorCount, ["clickhouse_version"] = clickHouseVersion,
            ["dotnet"] = Environment.Version.ToString(), ["os"] = RuntimeInformation.OSDescription,
        };
        var method = "Latency = the worker's own GET /latency: for every row, the time its insert was acknowledged (visible in ClickHouse) minus its " +
            "Kafka message timestamp (CreateTime, set when the bench's producer produced it), in an HDR histogram (2 significant digits: percentiles " +
            "within 1%, min and max exact). The worker runs as its own process (`pipeline run`, " +
            (options.WorkerSettings.Count == 0 ? "the defaults a user gets" : "the defaults plus " + string.Join(", ", options.WorkerSettings)) + "; /metrics scraped every " +
            $"{options.ScrapeInterval.TotalSeconds:F0} s). Maximum rate: {maxRate.Source}. Each run offers a constant rate (round-robin over " +
            $"{options.Partitions} partitions, producer in the bench process beside the embedded broker, on the same cores as the worker) for " +
            $"{options.WarmUpSeconds} s of warm-up, whose rows are dropped with a /latency?interval=true call, then {options.Seconds} s measured with " +
            "a second call at the end of the load; after each run every event produced must be visible before the next starts. Levels interleaved, " +
            "in a seeded random order per repetition; medians over repetitions, raw values beside them.";
        var atHalf = levels.FirstOrDefault(l => l.Level == 50);
        var target = new LatencyTarget($"p99 produce->visible <= {LatencyBenchmark.TargetP99Ms} ms at 50% of the maximum rate", LatencyBenchmark.TargetP99Ms,
            atHalf is null || double.IsNaN(atHalf.P99Ms) ? null : atHalf.P99Ms, atHalf is null || double.IsNaN(atHalf.P99Ms) ? null : atHalf.P99Ms <= LatencyBenchmark.TargetP99Ms);
        return new LatencyReport(startedUtc, machine, options, maxRate, levels, target, scrapes, runs, method);
    }

    public void Print()
    {
        Console.WriteLine();
        Console.WriteLine($"{MaxRate.Describe()}");
        Console.WriteLine($"Produce->visible latency, ms (the worker's /latency; median of {Options.Repeat} runs of {Options.Seconds} s after {Options.WarmUpSeconds} s of warm-up):");
        Console.WriteLine($"  {"level",5} {"offered/s",10} {"produced/s",11} {"inserted/s",11} {"p50",7} {"p95",7} {"p99",7} {"max",7}   p99 per run");
        foreach (var level in Levels)
            Console.WriteLine($"  {level.Level,4}% {level.OfferedPerSecond,10:N0} {level.MedianProducedPerSecond,11:N0} {level.MedianInsertedPerSecond,11:N0} " +
                $"{level.P50Ms,7:F0} {level.P95Ms,7:F0} {level.P99Ms,7:F0} {level.MaxMs,7:F0}   {string.Join(" ", level.P99MsPerRun.Select(v => v?.ToString(CultureInfo.InvariantCulture) ?? "-"))}");
        Console.WriteLine(Target.Met switch
        {
            null => $"Target ({Target.Description}): not measured (no 50% level)",
            true => $"Target ({Target.Description}): met, p99 {Target.MedianP99Ms:F0} ms",
            false => $"Target ({Target.Description}): MISSED, p99 {Target.MedianP99Ms:F0} ms ({Target.MedianP99Ms - Target.TargetP99Ms:F0} ms over)",
        });
    }

    public IReadOnlyList<string> Write(string directory) =>
        PerfDataFiles.Write(directory, Options.Label is null ? "latency" : $"latency-{Options.Label}", StartedUtc, JsonSerializer.Serialize(this, Json), path => LatencyChart.Save(this, path));
}
