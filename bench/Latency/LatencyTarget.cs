namespace EventPipeline.Bench.Latency;

/// <summary>The latency target and whether the median p99 at 50% met it (null: no 50% level was run, or no row was acknowledged).</summary>
internal sealed record LatencyTarget(string Description, long TargetP99Ms, double? MedianP99Ms, bool? Met);
