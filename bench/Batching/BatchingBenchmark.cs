using System.Globalization;
using System.Text.Json;
using EventPipeline.Host;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.Models.Batching;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Bench.Batching;

/// <summary>
/// Runs the real pipeline once per policy on the same offered load (per profile), beside the simulator's
/// prediction for that policy and load, and judges the DQN against the issue's target.
/// </summary>
internal static class BatchingBenchmark
{
    public static async Task<int> RunAsync(BatchingOptions options)
    {
        using var interrupt = ConsoleInterrupt.Create();
        var ct = interrupt.Token;
        using var loggerFactory = Logging.Create(minimum: LogLevel.Warning);
        var cost = InsertCostModel.Load(Path.Combine(options.ModelPath, "insert-cost-model.json"));
        var stateDir = Path.Combine(Path.GetTempPath(), $"bench-clickhouse-{Guid.NewGuid():N}");
        var server = await LocalClickHouseServer.StartAsync(stateDir, new LocalClickHouseOptions(), ct);
        var failed = false;
        try
        {
            await server.QueryAsync("CREATE DATABASE IF NOT EXISTS bench", ct);
            var version = (await server.QueryAsync("SELECT version() FORMAT TabSeparated", ct)).Trim();
            foreach (var profile in options.Profiles)
            {
                var load = BenchLoad.Create(profile, options.Seconds);
                Console.WriteLine($"== {profile}: {load.Description}, {options.Seconds} s, {load.TotalEvents():N0} events per policy");
                var (specs, sweep, staticChoice) = Policies(options, cost, load);
                var results = new List<MeasuredPolicy>();
                foreach (var spec in specs)
                {
                    GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                    var simulated = BatchingSimulation.Predict(cost, load, spec.ForSimulator);
                    var (result, ok) = await PipelineRun.RunAsync(options, load, spec, simulated, server, loggerFactory, ct);
                    failed |= !ok;
                    results.Add(result);
                    Console.WriteLine($"  {spec.Name,-14} measured {result.Measured.Row()}   simulated {result.Simulated.Row()}   drain {result.DrainSeconds:F1} s{(ok ? "" : "  FAILED")}");
                    await Task.Delay(1000, ct);
                }
                if (options.StaticSizes.Length > 0)
                {
                    // The real sweep: keep the best measured static size, drop the others from the table (they stay in the JSON).
                    staticChoice = BestStatic(results.Where(r => r.Policy.StartsWith("static-", StringComparison.Ordinal)), r => r.Measured)!.Policy + " (measured sweep)";
                }
                var report = BatchingReport.Create(options, load, version, cost, results, sweep, staticChoice);
                report.Print();
                var written = report.Write(options.OutputDirectory);
                BatchingChart.Save(report, Path.Combine(options.OutputDirectory, $"batching-{profile}-latest.png"));
                Console.WriteLine($"Wrote {string.Join(", ", written)}, batching-{profile}-latest.png");
            }
            return failed ? 1 : 0;
        }
        finally
        {
            await server.DisposeAsync();
            Directory.Delete(stateDir, recursive: true);
        }
    }

    private static (List<PolicySpec> Specs, List<object> Sweep, string StaticChoice) Policies(BatchingOptions options, InsertCostModel cost, BenchLoad load)
    {
        var sweep = BatcherSchema.Actions.Select(size => (Size: size, Numbers: BatchingSimulation.Predict(cost, load, _ => new EventPipeline.Stages.Batching.StaticBatchSizePolicy(size)))).ToList();
        var specs = new List<PolicySpec>();
        string choice;
        if (options.StaticSizes.Length > 0)
        {
            specs.AddRange(options.StaticSizes.Select(s => PolicySpec.Static(s, "measured sweep")));
            choice = "measured sweep";
        }
        else
        {
            var best = BestStatic(sweep, s => s.Numbers).Size;
            specs.Add(PolicySpec.Static(best, "the simulator's best static size for this load"));
            choice = $"static-{best} (simulator: lowest p99 with <= 2 inserts/s)";
        }
        specs.Add(PolicySpec.Aimd);
        specs.Add(PolicySpec.Threshold);
        specs.Add(PolicySpec.Dqn(options.ModelPath));
        return (specs, [.. sweep.Select(s => new { policy = $"static-{s.Size}", simulated = s.Numbers })], choice);
    }

    /// <summary>Lowest p99 among the sizes with at most 2 inserts/s (the issue's limit); the fewest inserts/s if none qualifies.</summary>
    private static T? BestStatic<T>(IEnumerable<T> candidates, Func<T, PolicyNumbers> numbers)
    {
        var list = candidates.ToList();
        var within = list.Where(c => numbers(c).InsertsPerSecond <= 2.0).ToList();
        return within.Count > 0 ? within.MinBy(c => numbers(c).P99Ms) : list.MinBy(c => numbers(c).InsertsPerSecond);
    }
}

internal sealed record BatchingReport(
    string Profile, string LoadDescription, int Seconds, string ClickHouseVersion, string StartedUtc, string StaticChoice,
    object Simulator, List<object> StaticSweepSimulated, List<MeasuredPolicy> Policies, Verdict Verdict)
{
    public static BatchingReport Create(BatchingOptions options, BenchLoad load, string version, InsertCostModel cost, List<MeasuredPolicy> results,
        List<object> sweep, string staticChoice) =>
        new(load.Name, load.Description, options.Seconds, version, DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture), staticChoice,
            new { cost_model = $"a={cost.A:G4} s + b={cost.B:G4} s/row + d={cost.D:G4} s/row per other insert (R2 {cost.R2:F2}, {cost.ServerVersion})", max_concurrent_inserts = 2, max_latency_s = 1.0 },
            sweep, results, Verdict.Judge(load.Name, results));

    public void Print()
    {
        Console.WriteLine($"{Profile}: {LoadDescription}");
        Console.WriteLine($"{"policy",-15}| measured: {"ev/s",9} {"p50 ms",8} {"p95 ms",8} {"p99 ms",8} {"ins/s",7} | simulated: {"ev/s",9} {"p50 ms",8} {"p95 ms",8} {"p99 ms",8} {"ins/s",7}");
        foreach (var p in Policies)
            Console.WriteLine($"{p.Policy,-15}|           {p.Measured.Row()} |            {p.Simulated.Row()}");
        Console.WriteLine($"verdict: {Verdict.Summary}");
    }

    public List<string> Write(string directory)
    {
        Directory.CreateDirectory(directory);
        var json = JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower });
        var latest = Path.Combine(directory, $"batching-{Profile}-latest.json");
        File.WriteAllText(latest, json);
        return [latest];
    }
}

/// <summary>The issue's target: on bursty and diurnal the DQN cuts p99 by >= 15% at equal or higher throughput than the
/// best baseline (lowest measured p99 among static, AIMD and threshold); at steady load it makes <= 2 inserts/s.</summary>
internal sealed record Verdict(string BestBaseline, double? DqnP99ChangePercent, bool? Met, string Summary)
{
    public static Verdict Judge(string profile, List<MeasuredPolicy> results)
    {
        var dqn = results.SingleOrDefault(r => r.Policy == "dqn");
        var baselines = results.Where(r => r.Policy != "dqn").ToList();
        if (dqn is null || baselines.Count == 0)
            return new("", null, null, "no DQN or baseline run");
        var best = baselines.MinBy(r => r.Measured.P99Ms)!;
        var change = Math.Round(100 * (dqn.Measured.P99Ms - best.Measured.P99Ms) / best.Measured.P99Ms, 1);
        // Throughput: the offered load is the same, so "equal" allows 1% of noise.
        var throughputOk = dqn.Measured.EventsPerSecond >= 0.99 * best.Measured.EventsPerSecond;
        bool? met = profile switch
        {
            "bursty" or "diurnal" => change <= -15 && throughputOk,
            "steady" => dqn.Measured.InsertsPerSecond <= 2.0,
            _ => null,
        };
        var outcome = met is null ? "not defined for this profile" : met.Value ? "MET" : "NOT MET";
        var summary = string.Create(CultureInfo.InvariantCulture,
            $"best baseline {best.Policy} p99 {best.Measured.P99Ms:F0} ms; dqn p99 {dqn.Measured.P99Ms:F0} ms ({change:+0.0;-0.0}%), throughput {dqn.Measured.EventsPerSecond:N0} vs {best.Measured.EventsPerSecond:N0} ev/s, {dqn.Measured.InsertsPerSecond:F2} inserts/s; target {outcome}");
        return new(best.Policy, change, met, summary);
    }
}
