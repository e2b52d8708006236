using EventPipeline.Models.Batching;
using EventPipeline.Stages.Batching;

namespace EventPipeline.Tests.Models;

public sealed class SimulatorCalibrationTests
{
    private static readonly InsertCostModel Cost = new() { A = 0.08, B = 4e-6, Calibrated = true, BytesPerRow = 180, ServerVersion = "test" };

    [Fact]
    public void Without_an_upstream_model_rows_reach_the_buffer_when_produced()
    {
        var load = Constant(20_000, 10);
        var instant = Run(load, 10_000, null);
        var explicitInstant = Run(load, 10_000, UpstreamModel.Instant);
        Assert.Equal(instant.Latency.Quantile(0.5), explicitInstant.Latency.Quantile(0.5));
        Assert.Equal(instant.Latency.Quantile(0.99), explicitInstant.Latency.Quantile(0.99));
        Assert.Equal(instant.Inserts, explicitInstant.Inserts);
    }

    [Fact]
    public void An_upstream_delay_adds_to_every_rows_latency_and_is_measured_from_production()
    {
        var load = Constant(20_000, 10);
        var instant = Run(load, 10_000, null);
        var delayed = Run(load, 10_000, new UpstreamModel(0.3, 0, double.PositiveInfinity));
        Assert.Equal(instant.Latency.Quantile(0.5) + 0.3, delayed.Latency.Quantile(0.5), 0.03); // histogram buckets are 2% wide
        Assert.Equal(instant.Inserted, delayed.Inserted);
    }

    [Fact]
    public void An_upstream_capacity_caps_throughput_and_every_insert_takes_its_overhead_from_it()
    {
        // 40k/s offered for 10 s against 20k rows/s of capacity: a backlog that drains after the load at 20k/s.
        var load = Constant(40_000, 10);
        var capped = Run(load, 10_000, new UpstreamModel(0, 0, 20_000), drain: 30);
        Assert.Equal(400_000, capped.Arrived, 400_000 * 0.01);
        Assert.Equal(capped.Arrived, capped.Inserted);
        Assert.InRange(capped.Latency.Quantile(0.99), 9, 12); // the last rows wait ~10 s behind the backlog

        // Small batches insert more often; with 100 ms taken per insert they leave less capacity and wait longer.
        var small = Run(load, 2_000, new UpstreamModel(0, 0, 20_000, InsertOverheadSeconds: 0.1), drain: 60);
        var large = Run(load, 20_000, new UpstreamModel(0, 0, 20_000, InsertOverheadSeconds: 0.1), drain: 60);
        Assert.True(small.Latency.Quantile(0.5) > 1.5 * large.Latency.Quantile(0.5),
            $"p50 {small.Latency.Quantile(0.5):F2} s with 2k batches vs {large.Latency.Quantile(0.5):F2} s with 20k");
    }

    [Fact]
    public void Calibration_recovers_an_upstream_it_did_not_see_well_enough_to_pass_the_gate()
    {
        // "Real" runs made by the simulator itself with a known upstream; calibrated on one half, judged on the other.
        var truth = new SimulatorCalibration(Cost, new UpstreamModel(0.2, 0.08, 30_000, 0.05), 0.5, 200_000, 0);
        double[] rates = [.. Enumerable.Range(0, 20).Select(s => s < 8 ? 45_000.0 : 10_000.0)];
        var trace = new RecordedTrace("synthetic", "45k/s for 8 s, then 10k/s", 1, rates, 0.5, 200_000, []);
        var runs = new List<RecordedPolicyRun>();
        foreach (var repetition in new[] { 1, 2 })
        {
            foreach (var size in new[] { 5_000, 20_000, 100_000 })
            {
                var numbers = truth.Simulate(trace.Load(), new StaticBatchSizePolicy(size), seed: repetition);
                var inserts = Enumerable.Range(0, 40).Select(i => size / 2 + i * size / 40)
                    .Select(rows => new TelemetryInsert(rows, rows * 180L, Cost.Predict(rows, rows * 180L))).ToList();
                runs.Add(new RecordedPolicyRun($"static-{size}", repetition, numbers.P50Seconds, numbers.P99Seconds, numbers.InsertsPerSecond, inserts, 30_000));
            }
        }
        trace = trace with { Runs = runs };

        var calibration = SimulatorCalibration.Fit(trace, [.. runs.Where(r => r.Repetition == 1)], "test");
        var gate = SimToRealGate.Judge(calibration, trace, [.. runs.Where(r => r.Repetition == 2)]);

        Assert.True(gate.Passed, gate.Summary);
        Assert.Equal(Cost.A, calibration.Cost.A, 3);
        Assert.Equal(Cost.B, calibration.Cost.B, 7);
    }

    [Fact]
    public void The_gate_fails_a_simulator_off_by_more_than_the_tolerance_or_ranking_apart_policies_the_other_way()
    {
        var close = SimToRealGate.Judge([new("static-1000", 1000, 1100, 2000, 1800), new("static-5000", 800, 760, 1200, 1300)]);
        Assert.True(close.Passed, close.Summary);
        Assert.True(close.RankingPreserved);

        var off = SimToRealGate.Judge([new("static-1000", 1000, 1200, 2000, 2000)]);
        Assert.False(off.Passed);
        Assert.Contains("p50 +20%", off.Summary, StringComparison.Ordinal);

        // Measured 2000 vs 1200 (apart): the simulator says the opposite order.
        var reversed = SimToRealGate.Judge([new("static-1000", 1000, 1000, 2000, 1700), new("static-5000", 1000, 1000, 1200, 1900)]);
        Assert.False(reversed.RankingPreserved);
        Assert.False(reversed.Passed);

        // Measured 2000 vs 1900: within the tolerance of each other, a tie whichever way the simulator orders them.
        var tie = SimToRealGate.Judge([new("static-1000", 1000, 1000, 2000, 1900), new("static-5000", 1000, 1000, 1900, 2000)]);
        Assert.Null(tie.RankingPreserved);
        Assert.True(tie.Passed, tie.Summary);
    }

    [Theory]
    [InlineData("steady")]
    [InlineData("diurnal")]
    [InlineData("step")]
    [InlineData("bursty")]
    [InlineData("congestion")]
    public void With_an_insert_interval_no_policy_exceeds_the_insert_rate_limit(string profileName)
    {
        // The smallest batches a policy may ask for, and the shipped DQN, at every load the trainer uses: at most 2 inserts/s.
        var capacity = 100_000 / Cost.Predict(100_000, 18_000_000);
        var model = Path.Combine(AppContext.BaseDirectory, "Artifacts", "batcher");
        foreach (var policy in new IBatchSizePolicy[] { new StaticBatchSizePolicy(1), new DqnBatchSizePolicy(new DqnPolicyOptions { ModelPath = model }) })
        {
            var sim = new BatchingSimulator(Cost, LoadProfile.Create(profileName, capacity, 120, 5), policy,
                new SimulatorOptions { MaxConcurrentInserts = 2, MaxLatencySeconds = 0.5, MinInsertIntervalSeconds = 0.5, Seed = 5 });
            var closed = new List<double>();
            sim.OnBatchClosed = (time, _) => closed.Add(time);
            sim.Advance(120);
            var shortestGap = closed.Zip(closed.Skip(1), (a, b) => b - a).Min();
            Assert.True(shortestGap >= 0.5 - 1e-6, $"{policy.Name}: two inserts {shortestGap:F3} s apart");
            Assert.True(closed.Count <= 2 * 120 + 1, $"{policy.Name}: {closed.Count} inserts in 120 s");
            (policy as IDisposable)?.Dispose();
        }
    }

    /// <summary><paramref name="rate"/> rows/s for <paramref name="seconds"/>, nothing after (the drain).</summary>
    private static LoadProfile Constant(double rate, double seconds) => LoadProfile.FromRate("constant", seconds, t => t < seconds ? rate : 0);

    private static BatchingSimulator Run(LoadProfile load, int size, UpstreamModel? upstream, double drain = 10)
    {
        var sim = new BatchingSimulator(Cost, load, new StaticBatchSizePolicy(size),
            new SimulatorOptions { MaxConcurrentInserts = 2, MaxLatencySeconds = 0.5, ArrivalJitter = 0, Upstream = upstream });
        sim.Advance(load.Duration + drain);
        return sim;
    }
}
