using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using EventPipeline.Stages.Batching;

namespace EventPipeline.Models.Batching;

/// <summary>One real run of one batch policy, as the batching bench recorded it.</summary>
/// <param name="Inserts">The run's inserts as the worker's telemetry recorded them.</param>
/// <param name="CapacityRowsPerSecond">The highest rate the worker inserted at while a backlog waited (5-second mean);
/// null when the run never had a backlog, so its capacity cannot be seen.</param>
public sealed record RecordedPolicyRun(
    string Policy, int Repetition, double P50Seconds, double P99Seconds, double InsertsPerSecond,
    IReadOnlyList<TelemetryInsert> Inserts, double? CapacityRowsPerSecond)
{
    /// <summary>N for a run of <c>static-N</c>; null for any other policy.</summary>
    public int? StaticSize => Policy.StartsWith("static-", StringComparison.Ordinal)
        && int.TryParse(Policy["static-".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var size) ? size : null;
}

/// <summary>
/// The real runs of one load profile: the offered rate (piecewise constant, <see cref="StepSeconds"/> a step) and every
/// run's measured latency and inserts. What the simulator is calibrated from and judged against.
/// </summary>
public sealed record RecordedTrace(
    string Profile, string Description, double StepSeconds, IReadOnlyList<double> Rates, double MaxLatencySeconds, int MaxSize,
    IReadOnlyList<RecordedPolicyRun> Runs)
{
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = false, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public double Seconds => StepSeconds * Rates.Count;

    /// <summary>The offered load as the simulator's profile.</summary>
    public LoadProfile Load() => LoadProfile.FromRate(Profile, Seconds, t =>
    {
        var step = (int)Math.Floor(t / StepSeconds);
        return step >= 0 && step < Rates.Count ? Rates[step] : 0;
    });

    public static RecordedTrace Read(string path) =>
        JsonSerializer.Deserialize<RecordedTrace>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path}: empty trace");

    public void Write(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Json));
}

/// <summary>What the simulator predicts for one policy on one load.</summary>
public sealed record SimulatedNumbers(double EventsPerSecond, double P50Seconds, double P95Seconds, double P99Seconds, double InsertsPerSecond, long Inserts);

/// <summary>
/// The simulator fitted to real runs of one profile: the insert cost law refitted from the runs' telemetry (so a
/// slow or merging ClickHouse is in it), the upstream capacity from the backlogged seconds, and the upstream delay
/// (Kafka, fetch, decode) and its jitter chosen so that the static policies' simulated p50 and p99 come closest to
/// the measured ones (least squares on log ratios over a grid). Judge it on runs it was not fitted on.
/// </summary>
public sealed record SimulatorCalibration(InsertCostModel Cost, UpstreamModel Upstream, double MaxLatencySeconds, int MaxSize, int FittedRuns)
{
    /// <summary>Inserts running at once, as the ClickHouse sink runs them.</summary>
    public const int MaxConcurrentInserts = 2;

    private static readonly double[] DelayGrid = [.. Enumerable.Range(0, 81).Select(i => i * 0.025)];
    private static readonly double[] JitterGrid = [0, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64];
    private static readonly double[] OverheadGrid = [0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5];
    private static readonly double[] CapacityFactors = [0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5, 1.75, 2.0];

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"insert {Cost.A:G3} s + {Cost.B * 1e6:G3} us/row (R2 {Cost.R2:F2}); upstream {Upstream.DelaySeconds * 1000:F0} ms + exp(mean {Upstream.JitterMeanSeconds * 1000:F0} ms)" +
        $"{(double.IsFinite(Upstream.CapacityRowsPerSecond) ? $", at most {Upstream.CapacityRowsPerSecond:N0} rows/s less {Upstream.InsertOverheadSeconds * 1000:F0} ms per insert" : "")}; fitted on {FittedRuns} runs");

    /// <summary>Runs <paramref name="policy"/> over <paramref name="load"/> and on until every row is inserted (at most 5 minutes more).</summary>
    public SimulatedNumbers Simulate(LoadProfile load, IBatchSizePolicy policy, int seed = 1) => Simulate(load, _ => policy, seed: seed);

    /// <summary>The same for a policy that reads the simulator's clock (the DQN's time-of-day feature).</summary>
    /// <param name="minInsertIntervalSeconds">Batch:MinInsertIntervalMs of the run, in seconds; 0: off.</param>
    public SimulatedNumbers Simulate(LoadProfile load, Func<BatchingSimulatorClock, IBatchSizePolicy> create, double minInsertIntervalSeconds = 0, int seed = 1)
    {
        var clock = new BatchingSimulatorClock();
        var policy = create(clock);
        var sim = new BatchingSimulator(Cost, load, policy, new SimulatorOptions
        {
            MaxConcurrentInserts = MaxConcurrentInserts, MaxLatencySeconds = MaxLatencySeconds, MaxSize = MaxSize, Seed = seed, Upstream = Upstream,
            MinInsertIntervalSeconds = minInsertIntervalSeconds,
        });
        clock.Simulator = sim;
        double lastCompletion = 0;
        sim.OnRowsCompleted = (_, done, _) => lastCompletion = Math.Max(lastCompletion, done);
        sim.Advance(load.Duration);
        for (var extra = 0; extra < 300 && sim.Inserted < sim.Arrived; extra++)
            sim.Advance(1);
        (policy as IDisposable)?.Dispose();
        return new SimulatedNumbers(sim.Inserted / Math.Max(load.Duration, lastCompletion), sim.Latency.Quantile(0.5), sim.Latency.Quantile(0.95),
            sim.Latency.Quantile(0.99), sim.Inserts / load.Duration, sim.Inserts);
    }

    /// <summary>Fits the simulator to <paramref name="runs"/> of <paramref name="trace"/>; the upstream delay to its static runs.</summary>
    /// <exception cref="ArgumentException">No static run, or too few inserts to fit the cost law.</exception>
    public static SimulatorCalibration Fit(RecordedTrace trace, IReadOnlyList<RecordedPolicyRun> runs, string serverVersion)
    {
        var statics = runs.Where(r => r.StaticSize is not null).ToList();
        if (statics.Count == 0)
            throw new ArgumentException("calibration needs runs of static policies: their sizes do not depend on the model", nameof(runs));
        var points = runs.SelectMany(r => r.Inserts).Where(i => i.Rows > 0 && i.InsertSeconds > 0 && double.IsFinite(i.InsertSeconds))
            .Select(i => new InsertMeasurement(i.Rows, i.Bytes, 1, i.InsertSeconds)).ToList();
        // The sink's two concurrent inserts contend: their times already hold it, so the law is fitted at concurrency 1.
        var cost = InsertCostModel.Fit(points, serverVersion);
        var capacities = runs.Select(r => r.CapacityRowsPerSecond).OfType<double>().ToList();
        var measuredCapacity = capacities.Count == 0 ? double.PositiveInfinity : SampleStatistics.Median(capacities);
        var load = trace.Load();
        var targets = statics.GroupBy(r => r.StaticSize!.Value)
            .Select(g => (Size: g.Key, P50: SampleStatistics.Median(g.Select(r => r.P50Seconds)), P99: SampleStatistics.Median(g.Select(r => r.P99Seconds)))).ToList();
        var template = new SimulatorCalibration(cost, UpstreamModel.Instant, trace.MaxLatencySeconds, trace.MaxSize, runs.Count);
        double Error(UpstreamModel upstream) => targets.Sum(t =>
        {
            var simulated = (template with { Upstream = upstream }).Simulate(load, new StaticBatchSizePolicy(t.Size));
            return Square(Math.Log(simulated.P50Seconds / t.P50)) + Square(Math.Log(simulated.P99Seconds / t.P99));
        });
        // Coordinate descent over the four upstream parameters, each searched on its grid with the others held: the
        // measured capacity (a mean over busy seconds) is the start, and is refitted, since a shared core lends the
        // worker more or less of itself while the producer runs.
        double[] capacityGrid = double.IsFinite(measuredCapacity)
            ? [.. CapacityFactors.Select(f => Math.Round(f * measuredCapacity)), double.PositiveInfinity] : [double.PositiveInfinity];
        var best = new UpstreamModel(0.1, 0.04, measuredCapacity);
        var bestError = Error(best);
        for (var round = 0; round < 3; round++)
        {
            foreach (var candidate in DelayGrid.Select(d => best with { DelaySeconds = d })
                         .Concat(JitterGrid.Select(j => best with { JitterMeanSeconds = j }))
                         .Concat(capacityGrid.Select(c => best with { CapacityRowsPerSecond = c }))
                         .Concat(OverheadGrid.Select(o => best with { InsertOverheadSeconds = o })).ToList())
            {
                var error = Error(candidate);
                if (error < bestError)
                    (best, bestError) = (candidate, error);
            }
        }
        return template with { Upstream = best };
    }

    private static double Square(double x) => x * x;
}
