using System.Text.Json;
using EventPipeline.Models.Batching;

namespace EventPipeline.Bench.Batching;

/// <summary>
/// The batch-size policies on the real pipeline, per profile: every policy run <c>--repeat</c> times, the policies
/// taking turns in a seeded random order so that drift of the shared machine favours none, with the prediction of the
/// simulator calibrated on half of those runs beside them and its sim-to-real gate judged on the other half.
/// <c>--grid</c> tunes the baselines instead (static sizes, threshold fill times, AIMD latency targets) and names the
/// best of each under the inserts/s constraint; <c>--from-report</c> judges kept runs again without running.
/// </summary>
internal static class BatchingBenchmark
{
    public static async Task<int> RunAsync(BatchingOptions options)
    {
        if (options.FromReport is { } reportPath)
            return await RejudgeAsync(reportPath, options);
        using var interrupt = ConsoleInterrupt.Create();
        var ct = interrupt.Token;
        var cost = InsertCostModel.Load(Path.Combine(options.ModelPath, "insert-cost-model.json"));
        var environment = await BenchEnvironment.StartAsync("batching", kafkaBrokers: null, ct);
        var (server, logDir, version) = (environment.Server, environment.LogDirectory, environment.ServerVersion);
        var failed = false;
        try
        {
            await RecordedInsert.CreateTableAsync(server, BenchEnvironment.Database);
            foreach (var profile in options.Profiles)
            {
                var startedUtc = DateTime.UtcNow;
                var load = BenchLoad.Create(profile, options.Seconds);
                var setup = ProfileSetup.For(profile, options);
                var (specs, sweep) = Policies(options, cost, load);
                Console.WriteLine($"== {profile}: {load.Description}; {setup.Describe()}; {options.Seconds} s, {load.TotalEvents():N0} events per run; " +
                    $"{specs.Count} policies x {options.Repeat} repetitions");
                var runs = new List<PolicyRun>();
                for (var repetition = 1; repetition <= options.Repeat; repetition++)
                {
                    foreach (var (order, spec) in RunOrder.Shuffled(specs, seed: repetition).Index())
                    {
                        var run = await PipelineRun.RunAsync(options, load, setup, spec, repetition, order, server, logDir, ct);
                        failed |= !run.Ok;
                        runs.Add(run);
                        Console.WriteLine($"  [{repetition}] {spec.Name,-20} {run.Measured.Row()}  parts<= {run.MaxActiveParts,4}  drain {run.DrainSeconds,5:F1} s" +
                            (run.Backlog is { } b ? $"  backlog {b.PeakBacklogRows:N0} drained in {b.SecondsToDrain?.ToString("F0") ?? "-"} s (p99 <= {b.HighestP99MsWhileDraining} ms)" : "") +
                            (run.Ok ? "" : "  FAILED"));
                    }
                }
                await JudgeAsync(options, load, setup, startedUtc, version, specs, runs, sweep, ct);
            }
            if (failed)
                Console.Error.WriteLine("Some runs failed their checks");
            else
                environment.Succeeded();
            return failed ? 1 : 0;
        }
        finally
        {
            await environment.DisposeAsync();
        }
    }

    /// <summary>
    /// The simulator calibrated on <paramref name="runs"/> (odd repetitions) and judged on the rest, the report with
    /// its summaries, gate and verdict printed and written, the recorded trace beside it, and with --clickhouse-url the
    /// real-pipeline rows recorded.
    /// </summary>
    private static async Task JudgeAsync(BatchingOptions options, BenchLoad load, ProfileSetup setup, DateTime startedUtc, string version, List<PolicySpec> specs,
        List<PolicyRun> runs, List<object> sweep, CancellationToken ct)
    {
        var trace = TraceRecording.Create(load, options.WorkerMaxLatencySeconds, options.WorkerMaxSize, runs);
        var (calibrationRuns, validationRuns, inSample) = TraceRecording.Split(trace);
        var calibration = SimulatorCalibration.Fit(trace, calibrationRuns, version);
        var simulated = specs.ToDictionary(s => s.Name, s => BatchingSimulation.Predict(calibration, trace.Load(), s));
        var simulator = new
        {
            calibration = calibration.Describe(),
            fitted_on = inSample ? "every run (one repetition: the gate below is in-sample)" : "the odd repetitions; the gate is judged on the even ones",
            cost_model = calibration.Cost with { Points = [] }, upstream = calibration.Upstream, max_concurrent_inserts = SimulatorCalibration.MaxConcurrentInserts,
            max_latency_s = calibration.MaxLatencySeconds,
        };
        var gate = SimToRealGate.Judge(calibration, trace, validationRuns);
        var report = BatchingReport.Create(options, load, setup, startedUtc, version, simulator, gate, specs, simulated, runs, sweep);
        report.Print();
        Console.WriteLine($"Wrote {string.Join(", ", [.. report.Write(options.OutputDirectory), TraceRecording.Write(trace, options)])}");
        if (options.ClickHouseUrl is { } url)
            await RealPipelineRows.WriteAsync(url, options.ClickHouseDatabase, RealPipelineRows.Create(load.Name, report.Summaries, options.ModelPath, startedUtc), ct);
    }

    /// <summary>
    /// A kept report judged again with this build, no run made: its runs (what was measured stays as it was; what is
    /// derived from it, the inserts/s over the whole run included, is computed again), its options as it ran them.
    /// </summary>
    private static async Task<int> RejudgeAsync(string reportPath, BatchingOptions options)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(reportPath));
        var root = document.RootElement;
        var kept = options with
        {
            Seconds = root.GetProperty("seconds").GetInt32(), Repeat = root.GetProperty("repeat").GetInt32(), Grid = root.GetProperty("grid").GetBoolean(),
            MaxInsertsPerSecond = root.GetProperty("max_inserts_per_second").GetDouble(),
        };
        var profile = root.GetProperty("profile").GetString()!;
        var load = BenchLoad.Create(profile, kept.Seconds);
        var runs = root.GetProperty("runs").Deserialize<List<PolicyRun>>()!.Select(r => r with { Measured = r.Measured with
        {
            InsertsPerSecond = PolicyNumbers.InsertRate(r.Measured.Inserts, load.Seconds, r.DrainSeconds),
        } }).ToList();
        var specs = runs.Select(r => r.Policy).Distinct().Select(name => PolicySpec.Named(name, kept)).ToList();
        var cost = InsertCostModel.Load(Path.Combine(kept.ModelPath, "insert-cost-model.json"));
        var (_, sweep) = Policies(kept, cost, load);
        await JudgeAsync(kept, load, ProfileSetup.For(profile, kept), root.GetProperty("started_utc").GetDateTime(),
            root.GetProperty("machine").GetProperty("clickhouse_version").GetString()!, specs, runs, sweep, CancellationToken.None);
        return 0;
    }

    private static (List<PolicySpec> Specs, List<object> Sweep) Policies(BatchingOptions options, InsertCostModel cost, BenchLoad load)
    {
        var sweep = BatcherSchema.Actions.Select(size => (Size: size, Numbers: BatchingSimulation.Predict(cost, load, options, _ => new EventPipeline.Stages.Batching.StaticBatchSizePolicy(size)))).ToList();
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
            specs.Add(PolicySpec.Dqn(options.ModelPath, options.MinInsertIntervalMs));
        return (specs, [.. sweep.Select(s => new { policy = $"static-{s.Size}", simulated = s.Numbers })]);
    }
}
