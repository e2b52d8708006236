using EventPipeline.Models.Batching;
using EventPipeline.Stages;
using EventPipeline.Stages.Batching;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Bench.Batching;

/// <summary>
/// A policy as the real pipeline runs it (through its settings, or built here for the DQN) and the same policy
/// for the simulator. Every parameter is the product's default: Batch:Size 100k, MinSize 1k, MaxSize 200k,
/// AimdStep 5k, TargetLatencyMs 1000, MaxLatencyMs 1000.
/// </summary>
internal sealed record PolicySpec(
    string Name,
    string Description,
    IReadOnlyDictionary<string, string?> Settings,
    Func<PipelineMetrics, ILogger, Func<double>, IBatchSizePolicy?> ForWorker,
    Func<BatchingSimulatorClock, IBatchSizePolicy> ForSimulator)
{
    public static PolicySpec Static(int size, string why) => new($"static-{size}", $"Batch:Policy=static, Batch:Size={size} ({why})",
        new Dictionary<string, string?> { ["Batch:Policy"] = "static", ["Batch:Size"] = size.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        (_, _, _) => null, _ => new StaticBatchSizePolicy(size));

    public static PolicySpec Aimd { get; } = new("aimd", "Batch:Policy=aimd (start 100k, +5k per full batch, halve when an insert takes > 1 s)",
        new Dictionary<string, string?> { ["Batch:Policy"] = "aimd" },
        (_, _, _) => null, _ => new AimdBatchSizePolicy(100_000, 1_000, 200_000, 5_000, TimeSpan.FromSeconds(1)));

    public static PolicySpec Threshold { get; } = new("threshold", "Batch:Policy=threshold (size = arrival rate x 1 s)",
        new Dictionary<string, string?> { ["Batch:Policy"] = "threshold" },
        (_, _, _) => null, _ => new LatencyTargetBatchSizePolicy(1_000, 200_000, TimeSpan.FromSeconds(1)));

    /// <summary>
    /// The shipped model. The worker's copy sees the run as one compressed day (as in training and in the simulator)
    /// instead of the wall clock's time of day: the most favourable reading for the agent.
    /// </summary>
    public static PolicySpec Dqn(string modelPath) => new("dqn", $"Batch:Policy=dqn, model {modelPath}, day = the run",
        new Dictionary<string, string?> { ["Batch:Policy"] = "dqn", ["Batch:ModelPath"] = modelPath },
        (metrics, logger, dayFraction) =>
        {
            var policy = new DqnBatchSizePolicy(new DqnPolicyOptions { ModelPath = modelPath, MinSize = 1_000, MaxSize = 200_000, FallbackSize = 100_000 },
                metrics, logger, dayFraction: dayFraction);
            return policy.UsesModel ? policy : throw new InvalidOperationException($"the DQN model at {modelPath} is unusable: {policy.LoadError}");
        },
        clock => new DqnBatchSizePolicy(new DqnPolicyOptions { ModelPath = modelPath, MinSize = 1_000, MaxSize = 200_000, FallbackSize = 100_000 },
            now: () => clock.Now, dayFraction: () => clock.DayFraction));
}
