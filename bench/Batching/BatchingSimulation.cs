using EventPipeline.Models.Batching;

namespace EventPipeline.Bench.Batching;

/// <summary>The simulator's prediction for one policy on the very load the real run is offered.</summary>
internal static class BatchingSimulation
{
    public static PolicyNumbers Predict(InsertCostModel cost, BenchLoad load, Func<BatchingSimulatorClock, EventPipeline.Stages.Batching.IBatchSizePolicy> create)
    {
        var clock = new BatchingSimulatorClock();
        var policy = create(clock);
        // As the real pipeline runs: two concurrent inserts, 1 s MaxLatency, MaxSize 200k.
        var sim = new BatchingSimulator(cost, load.ToSimulatorProfile(), policy,
            new SimulatorOptions { MaxConcurrentInserts = 2, MaxLatencySeconds = 1.0, MaxSize = 200_000, Seed = 1 });
        clock.Simulator = sim;
        double lastCompletion = 0;
        sim.OnRowsCompleted = (_, done, _) => lastCompletion = Math.Max(lastCompletion, done);
        sim.Advance(load.Seconds + 5); // the rate is 0 after the load ends: this drains
        (policy as IDisposable)?.Dispose();
        return new PolicyNumbers(Math.Round(sim.Inserted / Math.Max(load.Seconds, lastCompletion), 1),
            Math.Round(sim.Latency.Quantile(0.5) * 1000, 1), Math.Round(sim.Latency.Quantile(0.95) * 1000, 1),
            Math.Round(sim.Latency.Quantile(0.99) * 1000, 1), Math.Round(sim.Inserts / load.Seconds, 3), sim.Inserts);
    }
}
