using EventPipeline.Models.Batching;

namespace EventPipeline.Bench.Batching;

/// <summary>The simulator's prediction for one policy on the very load the real run is offered.</summary>
internal static class BatchingSimulation
{
    /// <param name="maxLatencyMs">Batch:MaxLatencyMs of the real runs; null: the product's default.</param>
    public static PolicyNumbers Predict(InsertCostModel cost, BenchLoad load, int? maxLatencyMs, Func<BatchingSimulatorClock, EventPipeline.Stages.Batching.IBatchSizePolicy> create)
    {
        var clock = new BatchingSimulatorClock();
        var policy = create(clock);
        // As the real pipeline runs: two concurrent inserts, the product's Batch:MaxLatencyMs and Batch:MaxSize.
        var defaults = new EventPipeline.Host.Configuration.BatchSettings();
        var sim = new BatchingSimulator(cost, load.ToSimulatorProfile(), policy,
            new SimulatorOptions { MaxConcurrentInserts = 2, MaxLatencySeconds = (maxLatencyMs ?? defaults.MaxLatencyMs) / 1000.0, MaxSize = defaults.MaxSize, Seed = 1 });
        clock.Simulator = sim;
        double lastCompletion = 0;
        sim.OnRowsCompleted = (_, done, _) => lastCompletion = Math.Max(lastCompletion, done);
        sim.Advance(load.Seconds + 60); // the rate is 0 after the load ends: this drains (a saturation backlog takes longer)
        (policy as IDisposable)?.Dispose();
        return new PolicyNumbers(Math.Round(sim.Inserted / Math.Max(load.Seconds, lastCompletion), 1),
            Math.Round(sim.Latency.Quantile(0.5) * 1000, 1), Math.Round(sim.Latency.Quantile(0.95) * 1000, 1),
            Math.Round(sim.Latency.Quantile(0.99) * 1000, 1), null, Math.Round(sim.Inserts / load.Seconds, 3), sim.Inserts);
    }
}
