using EventPipeline.Stages;

namespace EventPipeline.Bench.Latency;

/// <summary>One paced run at one offered load: what was offered, produced and inserted in its measured window, and the worker's latencies then.</summary>
/// <param name="Level">Offered load in percent of the maximum rate.</param>
/// <param name="ProducedPerSecond">What the producer achieved in the window (it shares the 2 cores with the worker).</param>
/// <param name="InsertedPerSecond">Rows the worker acknowledged in the window, per second.</param>
/// <param name="Produced">Events of the whole run, warm-up included.</param>
/// <param name="Latency">The worker's /latency for the window (its warm-up dropped).</param>
/// <param name="SecondsToDrain">From the end of the load until every event produced so far was visible.</param>
internal sealed record LatencyRun(int Repetition, int Level, double OfferedPerSecond, double ProducedPerSecond, double InsertedPerSecond,
    long Produced, EndToEndLatencySnapshot Latency, double SecondsToDrain)
{
    public string Describe() =>
        $"[{Repetition}] {Level,3}%  offered {OfferedPerSecond,8:N0}/s  produced {ProducedPerSecond,8:N0}/s  inserted {InsertedPerSecond,8:N0}/s  " +
        $"rows {Latency.Count,9:N0}  p50 {Latency.P50Ms,6} ms  p95 {Latency.P95Ms,6} ms  p99 {Latency.P99Ms,6} ms  max {Latency.MaxMs,6} ms  drained in {SecondsToDrain:F1} s";
}
