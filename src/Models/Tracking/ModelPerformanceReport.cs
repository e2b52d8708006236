using System.Diagnostics;
using EventPipeline.Models.Batching;
using EventPipeline.Models.Partitioning;
using EventPipeline.Stages.Partitioning;

namespace EventPipeline.Models.Tracking;

/// <summary>Turns what training already measured into ml_model_performance rows.</summary>
public static class ModelPerformanceReport
{
    public const string BatcherModel = "batcher-dqn";
    public const string CostModel = "insert-cost-model";
    public const string PartitionerModel = "partitioner-ppo";

    /// <summary>The policy name the trainer's evaluation gives the agent; the other policies are its baselines.</summary>
    public const string AgentPolicy = "dqn";

    /// <summary>
    /// One row per evaluation row (load profile x policy) of a trained batcher. The baselines are kept beside the
    /// agent under the same model version: a model's numbers mean little without what a simple policy did on the
    /// same simulated day.
    /// </summary>
    public static IEnumerable<ModelPerformanceRow> ForBatcher(BatcherMetadata metadata, long trainingSamples, double inferenceMilliseconds,
        DateTime timestamp) =>
        metadata.Evaluation.Select(row => new ModelPerformanceRow
        {
            Timestamp = timestamp, ModelName = BatcherModel, ModelVersion = metadata.Version, Evaluation = "simulator",
            Profile = row.Profile, Policy = row.Policy,
            ThroughputRowsPerSecond = ModelPerformanceRow.Finite(row.ThroughputRowsPerSecond),
            P50Seconds = ModelPerformanceRow.Finite(row.P50Seconds), P95Seconds = ModelPerformanceRow.Finite(row.P95Seconds),
            P99Seconds = ModelPerformanceRow.Finite(row.P99Seconds), InsertsPerSecond = ModelPerformanceRow.Finite(row.InsertsPerSecond),
            Reward = ModelPerformanceRow.Finite(row.MeanReward), TrainingSamples = trainingSamples,
            InferenceTimeMs = row.Policy == AgentPolicy ? ModelPerformanceRow.Finite(inferenceMilliseconds) : null,
        });

    /// <summary>The cost model's prediction errors on the inserts it was fitted on.</summary>
    /// <param name="evaluation">calibration (inserts timed by `pipeline calibrate`) or telemetry (production inserts).</param>
    public static ModelPerformanceRow ForCostModel(InsertCostModel model, InsertCostFitQuality quality, string evaluation, DateTime timestamp) => new()
    {
        Timestamp = timestamp, ModelName = CostModel, ModelVersion = model.MeasuredAt, Evaluation = evaluation,
        PredictionAccuracy = ModelPerformanceRow.Finite(quality.ShareWithinTolerance), Mae = ModelPerformanceRow.Finite(quality.MaeSeconds),
        Rmse = ModelPerformanceRow.Finite(quality.RmseSeconds), R2 = ModelPerformanceRow.Finite(quality.R2), TrainingSamples = quality.Points,
    };

    /// <summary>
    /// Mean time of one greedy decision (one forward pass) over fixed pseudo-random states, after a warm-up that
    /// keeps TorchSharp's first-call costs out of the figure.
    /// </summary>
    public static double MeasureInferenceMilliseconds(DqnAgent agent, int decisions = 1_000)
    {
        var random = new Random(1);
        var states = Enumerable.Range(0, 64).Select(_ => Enumerable.Range(0, BatcherSchema.StateSize).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
        for (var i = 0; i < 50; i++)
            agent.Greedy(states[i % states.Length]);
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < decisions; i++)
            agent.Greedy(states[i % states.Length]);
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds / decisions;
    }

    /// <summary>
    /// One row per evaluation cell (workload at a partition count x strategy) of a trained fan-out policy: profile is
    /// "workload/n", reward the median score over the seeds (<see cref="PartitioningEvaluationRow.Score"/>). The classical
    /// strategies are kept beside ppo under the same model version, as the batcher keeps its baselines.
    /// </summary>
    public static IEnumerable<ModelPerformanceRow> ForPartitioner(PartitionerMetadata metadata, double inferenceMilliseconds, DateTime timestamp) =>
        metadata.Evaluation.Select(row => new ModelPerformanceRow
        {
            Timestamp = timestamp, ModelName = PartitionerModel, ModelVersion = metadata.Version, Evaluation = "simulator",
            Profile = $"{row.Workload}/{row.Partitions}", Policy = row.Strategy, Reward = ModelPerformanceRow.Finite(row.Score.Median),
            TrainingSamples = metadata.TrainingSamples,
            InferenceTimeMs = row.Strategy == "ppo" ? ModelPerformanceRow.Finite(inferenceMilliseconds) : null,
        });

    /// <summary>Mean time of one fan-out decision (16 heavy keys) of <paramref name="policy"/>, after a warm-up.</summary>
    public static double MeasureInferenceMilliseconds(IFanOutPolicy policy, int partitionCount, int decisions = 2_000)
    {
        var random = new Random(1);
        var states = Enumerable.Range(0, 16).Select(_ => new FanOutState(partitionCount,
            [.. Enumerable.Range(0, FanOutSchema.Slots).Select(i => new HeavyKey((ulong)i, random.NextDouble() / (i + 2), 1 << random.Next(7), random.NextDouble() * 3))],
            random.NextDouble(), 1 + (random.NextDouble() * 10))).ToArray();
        var fanOuts = new int[FanOutSchema.Slots];
        for (var i = 0; i < 100; i++)
            policy.Decide(states[i % states.Length], fanOuts);
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < decisions; i++)
            policy.Decide(states[i % states.Length], fanOuts);
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds / decisions;
    }
}
