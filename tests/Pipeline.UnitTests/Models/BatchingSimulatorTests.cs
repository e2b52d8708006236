using EventPipeline.Models.Batching;
using EventPipeline.Stages.Batching;

namespace EventPipeline.Tests.Models;

public sealed class BatchingSimulatorTests
{
    private static readonly InsertCostModel FixedCost = new() { A = 0.05, Calibrated = true, BytesPerRow = 200 };

    [Theory]
    [InlineData("steady", 1_000)]
    [InlineData("bursty", 50_000)]
    [InlineData("congestion", 5_000)]
    [InlineData("diurnal", 200_000)]
    public void Every_event_is_inserted_or_still_held_at_every_tick(string profileName, int size)
    {
        var cost = InsertCostModel.Uncalibrated with { Calibrated = true };
        var capacity = 100_000 / cost.Predict(100_000, 20_000_000);
        var sim = new BatchingSimulator(cost, LoadProfile.Create(profileName, capacity, 60, 3), new StaticBatchSizePolicy(size), new SimulatorOptions { Seed = 3 });
        long completed = 0;
        sim.OnRowsCompleted = (_, _, rows) => completed += rows;
        while (sim.Now < 60)
        {
            sim.Advance(0.01);
            Assert.Equal(sim.Arrived, sim.Inserted + sim.Waiting + sim.InFlight);
            Assert.Equal(sim.Inserted, completed);
        }
        Assert.True(sim.Inserted > 0);
        Assert.Equal(sim.Inserted, sim.Latency.Count);
    }

    [Fact]
    public void Each_event_latency_is_its_insert_completion_minus_its_arrival()
    {
        // 500k/s in 10 ms ticks = 5,000 rows per tick; batches of 10,000 close at t=0.01 and take 0.05 s.
        var capacity = 100_000 / FixedCost.Predict(100_000, 0);
        var sim = new BatchingSimulator(FixedCost, LoadProfile.Create("steady", capacity, 10, 1), new StaticBatchSizePolicy(10_000),
            new SimulatorOptions { ArrivalJitter = 0, MaxConcurrentInserts = 1 });
        var completions = new List<(double Arrival, double Done, long Rows)>();
        sim.OnRowsCompleted = (arrival, done, rows) => completions.Add((arrival, done, rows));
        sim.Advance(1);

        Assert.Equal(0.0, completions[0].Arrival, 9);
        Assert.Equal(0.06, completions[0].Done, 9);
        Assert.Equal(5_000, completions[0].Rows);
        Assert.Equal(0.01, completions[1].Arrival, 9);
        Assert.Equal(0.06, completions[1].Done, 9);
        Assert.All(completions, c => Assert.True(c.Done - c.Arrival >= 0.05 - 1e-9));
        Assert.Equal(completions.Sum(c => (c.Done - c.Arrival) * c.Rows), sim.Latency.Sum, 6);
    }

    [Fact]
    public void An_uncalibrated_cost_model_is_refused_unless_allowed()
    {
        var profile = LoadProfile.Create("steady", 100_000, 10, 1);
        var error = Assert.Throws<InvalidOperationException>(() =>
            new BatchingSimulator(InsertCostModel.Uncalibrated, profile, new StaticBatchSizePolicy(1000), new SimulatorOptions()));
        Assert.Contains("--uncalibrated", error.Message, StringComparison.Ordinal);
        _ = new BatchingSimulator(InsertCostModel.Uncalibrated, profile, new StaticBatchSizePolicy(1000), new SimulatorOptions(), allowUncalibrated: true);
    }

    [Fact]
    public void The_cost_fit_recovers_known_coefficients()
    {
        var points = new List<InsertMeasurement>();
        foreach (var rows in new[] { 1_000, 5_000, 20_000, 50_000, 100_000 })
            foreach (var concurrency in new[] { 1, 2 })
                foreach (var bytesPerRow in new[] { 180, 220 })
                    points.Add(new InsertMeasurement(rows, rows * bytesPerRow, concurrency, 0.01 + 2e-6 * rows + 4e-9 * rows * bytesPerRow + 1e-6 * (concurrency - 1) * rows));
        var model = InsertCostModel.Fit(points, "test");
        Assert.True(model.R2 > 0.999, $"R2 {model.R2}");
        Assert.Equal(0.01, model.A, 3);
        Assert.Equal(0.01 + 0.2 + 0.08, model.Predict(100_000, 20_000_000), 3);
    }
}
