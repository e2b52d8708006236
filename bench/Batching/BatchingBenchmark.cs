using EventPipeline.Bench.Latency;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.Models.Batching;

namespace EventPipeline.Bench.Batching;

/// <summary>
/// The batch-size policies on the real pipeline, per profile: every policy run <c>--repeat</c> times, the policies
/// taking turns in a rotating order so that drift of the shared machine favours none, with the simulator's prediction
/// for the same policy and load beside them. <c>--grid</c> tunes the baselines instead (static sizes, threshold fill
/// times, AIMD latency targets) and names the best of each under the inserts/s constraint.
/// </summary>
internal static class BatchingBenchmark
{
    public static async Task<int> RunAsync(BatchingOptions options)
    {
        using var interrupt = ConsoleInterrupt.Create();
        var ct = interrupt.Token;
        var cost = InsertCostModel.Load(Path.Combine(options.ModelPath, "insert-cost-model.json"));
        var stateDir = Path.Combine(Path.GetTempPath(), $"bench-batching-{Guid.NewGuid():N}");
        var logDir = Path.Combine(stateDir, "logs");
        Directory.CreateDirectory(logDir);
        var server = await LocalClickHouseServer.StartAsync(Path.Combine(stateDir, "clickhouse"), new LocalClickHouseOptions(), ct);
        var failed = false;
        try
        {
            await server.QueryAsync("CREATE DATABASE IF NOT EXISTS bench", ct);
            var version = (await server.QueryAsync("SELECT version() FORMAT TabSeparated", ct)).Trim();
            foreach (var profile in options.Profiles)
            {
                var startedUtc = DateTime.UtcNow;
                var load = BenchLoad.Create(profile, options.Seconds);
                var setup = ProfileSetup.For(profile, options);
                var (specs, sweep) = Policies(options, cost, load);
                var simulated = specs.ToDictionary(s => s.Name, s => BatchingSimulation.Predict(cost, load, options.MaxLatencyMs, s.ForSimulator));
                Console.WriteLine($"== {profile}: {load.Description}; {setup.Describe()}; {options.Seconds} s, {load.TotalEvents():N0} events per run; " +
                    $"{specs.Count} policies x {options.Repeat} repetitions");
                var runs = new List<PolicyRun>();
                for (var repetition = 1; repetition <= options.Repeat; repetition++)
                {
                    foreach (var (order, spec) in LatencyBenchmark.Rotated([.. specs], repetition - 1).Index())
                    {
                        var run = await PipelineRun.RunAsync(options, load, setup, spec, repetition, order, server, logDir, ct);
                        failed |= !run.Ok;
                        runs.Add(run);
                        Console.WriteLine($"  [{repetition}] {spec.Name,-20} {run.Measured.Row()}  parts<= {run.MaxActiveParts,4}  drain {run.DrainSeconds,5:F1} s" +
                            (run.Backlog is { } b ? $"  backlog {b.PeakBacklogRows:N0} drained in {b.SecondsToDrain?.ToString("F0") ?? "-"} s (p99 <= {b.HighestP99MsWhileDraining} ms)" : "") +
                            (run.Ok ? "" : "  FAILED"));
                    }
                }
                var simulator = new
                {
                    cost_model = $"a={cost.A:G4} s + b={cost.B:G4} s/row + d={cost.D:G4} s/row per other insert (R2 {cost.R2:F2}, {cost.ServerVersion})",
                    max_concurrent_inserts = 2, max_latency_s = (options.MaxLatencyMs ?? new EventPipeline.Host.Configuration.BatchSettings().MaxLatencyMs) / 1000.0,
                    models = "neither Kafka, decode, a proxy's delay, other workers nor merges",
                };
                var report = BatchingReport.Create(options, load, setup, startedUtc, version, simulator, specs, simulated, runs, sweep);
                report.Print();
                Console.WriteLine($"Wrote {string.Join(", ", report.Write(options.OutputDirectory))}");
            }
            if (failed)
                Console.Error.WriteLine($"Some runs failed their checks; the worker logs are kept in {logDir}");
            return failed ? 1 : 0;
        }
        finally
        {
            await server.DisposeAsync();
            if (!failed)
                Directory.Delete(stateDir, recursive: true);
        }
    }

    private static (List<PolicySpec> Specs, List<object> Sweep) Policies(BatchingOptions options, InsertCostModel cost, BenchLoad load)
    {
        var sweep = BatcherSchema.Actions.Select(size => (Size: size, Numbers: BatchingSimulation.Predict(cost, load, options.MaxLatencyMs, _ => new EventPipeline.Stages.Batching.StaticBatchSizePolicy(size)))).ToList();
        var specs = new List<PolicySpec>();
        if (options.StaticSizes.Length > 0)
            specs.AddRange(options.StaticSizes.Select(s => PolicySpec.Static(s, options.Grid ? "grid" : "given")));
        else
        {
            // The simulator's best: lowest p99 within the inserts/s limit, else the fewest inserts/s.
            var within = sweep.Where(s => s.Numbers.InsertsPerSecond <= options.MaxInsertsPerSecond).ToList();
            var best = within.Count > 0 ? within.MinBy(s => s.Numbers.P99Ms) : sweep.MinBy(s => s.Numbers.InsertsPerSecond);
            specs.Add(PolicySpec.Static(best.Size, "the simulator's best static size for this load"));
        }
        specs.AddRange(options.ThresholdTargetsMs.Select(PolicySpec.Threshold));
        specs.Add(PolicySpec.Aimd);
        specs.AddRange(options.AimdRowLatencyTargetsMs.Select(PolicySpec.AimdRowLatency));
        if (options.IncludeDqn)
            specs.Add(PolicySpec.Dqn(options.ModelPath));
        return (specs, [.. sweep.Select(s => new { policy = $"static-{s.Size}", simulated = s.Numbers })]);
    }
}
