using EventPipeline.Models.Batching;
using EventPipeline.Stages.Batching;

namespace EventPipeline.Bench.Batching;

/// <summary>The simulator's prediction for one policy on the very load the real run is offered.</summary>
internal static class BatchingSimulation
{
    /// <summary>The uncalibrated simulator (the shipped insert cost model, rows reach the buffer at once): what picks a static size before any run.</summary>
    public static PolicyNumbers Predict(InsertCostModel cost, BenchLoad load, BatchingOptions options, Func<BatchingSimulatorClock, IBatchSizePolicy> create) =>
        Predict(new SimulatorCalibration(cost, UpstreamModel.Instant, options.WorkerMaxLatencySeconds, options.WorkerMaxSize, 0), load.ToSimulatorProfile(), create, 0);

    /// <summary>The simulator calibrated on this profile's runs, on the load the producer really offered.</summary>
    public static PolicyNumbers Predict(SimulatorCalibration calibration, LoadProfile offered, PolicySpec spec) =>
        Predict(calibration, offered, spec.ForSimulator, spec.MinInsertIntervalSeconds);

    private static PolicyNumbers Predict(SimulatorCalibration calibration, LoadProfile offered, Func<BatchingSimulatorClock, IBatchSizePolicy> create, double minInsertIntervalSeconds)
    {
        var numbers = calibration.Simulate(offered, create, minInsertIntervalSeconds);
        return new PolicyNumbers(Math.Round(numbers.EventsPerSecond, 1), Math.Round(numbers.P50Seconds * 1000, 1), Math.Round(numbers.P95Seconds * 1000, 1),
            Math.Round(numbers.P99Seconds * 1000, 1), null, Math.Round(numbers.InsertsPerSecond, 3), numbers.Inserts);
    }
}
