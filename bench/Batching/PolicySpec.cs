using System.Globalization;
using EventPipeline.Models.Batching;
using EventPipeline.Stages.Batching;

namespace EventPipeline.Bench.Batching;

/// <summary>
/// A policy as the worker runs it (the Batch:* settings passed to <c>pipeline run</c>) and the same policy for the
/// simulator. Parameters not named are the product's defaults: Batch:Size 100k, MinSize 1k, MaxSize 200k, AimdStep 5k,
/// TargetLatencyMs 1000.
/// </summary>
/// <param name="IsBaseline">False only for the learned policy: the best baseline is chosen among the others.</param>
internal sealed record PolicySpec(
    string Name,
    string Description,
    IReadOnlyDictionary<string, string> Settings,
    Func<BatchingSimulatorClock, IBatchSizePolicy> ForSimulator,
    bool IsBaseline = true,
    double MinInsertIntervalSeconds = 0)
{
    private const int MinSize = 1_000, MaxSize = 200_000, AimdStep = 5_000, AimdInitial = 100_000;

    /// <summary>The settings as <c>Key=Value</c> arguments of <c>pipeline run</c>.</summary>
    public IEnumerable<string> Arguments => Settings.Select(s => $"{s.Key}={s.Value}");

    public static PolicySpec Static(int size, string why) => new($"static-{size}", $"Batch:Policy=static, Batch:Size={size} ({why})",
        new Dictionary<string, string> { ["Batch:Policy"] = "static", ["Batch:Size"] = Text(size) },
        _ => new StaticBatchSizePolicy(size));

    public static PolicySpec Aimd { get; } = new("aimd", "Batch:Policy=aimd (start 100k, +5k per full batch, halve when an insert takes > 1 s or fails)",
        new Dictionary<string, string> { ["Batch:Policy"] = "aimd" },
        _ => new AimdBatchSizePolicy(AimdInitial, MinSize, MaxSize, AimdStep, TimeSpan.FromSeconds(1)));

    /// <summary>AIMD that also halves when the oldest row of a batch was acknowledged more than <paramref name="targetMs"/> after it was produced.</summary>
    public static PolicySpec AimdRowLatency(int targetMs) => new($"aimd-latency-{targetMs}",
        $"Batch:Policy=aimd, Batch:AimdRowLatencyTargetMs={targetMs} (also halve when a batch's oldest row is older than {targetMs} ms at ack)",
        new Dictionary<string, string> { ["Batch:Policy"] = "aimd", ["Batch:AimdRowLatencyTargetMs"] = Text(targetMs) },
        _ => new AimdBatchSizePolicy(AimdInitial, MinSize, MaxSize, AimdStep, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(targetMs)));

    public static PolicySpec Threshold(int fillTargetMs) => new($"threshold-{fillTargetMs}",
        $"Batch:Policy=threshold, Batch:TargetLatencyMs={fillTargetMs} (size = arrival rate x {fillTargetMs} ms)",
        new Dictionary<string, string> { ["Batch:Policy"] = "threshold", ["Batch:TargetLatencyMs"] = Text(fillTargetMs) },
        _ => new LatencyTargetBatchSizePolicy(MinSize, MaxSize, TimeSpan.FromMilliseconds(fillTargetMs)));

    /// <summary>
    /// The trained model, as production runs it: the worker feeds it the UTC clock's time of day (the simulator's copy
    /// sees the simulated day, as in training). The model's clock feature is therefore out of its training range here.
    /// Batch:MinInsertIntervalMs holds it to the inserts/s constraint the tuned baselines were chosen under.
    /// </summary>
    public static PolicySpec Dqn(string modelPath, int minInsertIntervalMs)
    {
        var path = Path.GetFullPath(modelPath);
        return new("dqn", $"Batch:Policy=dqn, model {modelPath}, the worker's UTC clock, Batch:MinInsertIntervalMs={minInsertIntervalMs}",
            new Dictionary<string, string> { ["Batch:Policy"] = "dqn", ["Batch:ModelPath"] = path, ["Batch:MinInsertIntervalMs"] = Text(minInsertIntervalMs) },
            clock => new DqnBatchSizePolicy(new DqnPolicyOptions { ModelPath = path, MinSize = MinSize, MaxSize = MaxSize, FallbackSize = AimdInitial },
                now: () => clock.Now, dayFraction: () => clock.DayFraction),
            IsBaseline: false, MinInsertIntervalSeconds: minInsertIntervalMs / 1000.0);
    }

    /// <summary>The policy a kept run names (static-N, threshold-N, aimd, aimd-latency-N, dqn), as this bench builds it.</summary>
    /// <exception cref="ArgumentException">A name no family of this bench gives.</exception>
    public static PolicySpec Named(string name, BatchingOptions options)
    {
        int Parameter(string prefix) => int.Parse(name[prefix.Length..], CultureInfo.InvariantCulture);
        return name switch
        {
            "aimd" => Aimd,
            "dqn" => Dqn(options.ModelPath, options.MinInsertIntervalMs),
            _ when name.StartsWith("static-", StringComparison.Ordinal) => Static(Parameter("static-"), options.Grid ? "grid" : "given"),
            _ when name.StartsWith("threshold-", StringComparison.Ordinal) => Threshold(Parameter("threshold-")),
            _ when name.StartsWith("aimd-latency-", StringComparison.Ordinal) => AimdRowLatency(Parameter("aimd-latency-")),
            _ => throw new ArgumentException($"a kept run names policy '{name}', which this bench does not build", nameof(name)),
        };
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
