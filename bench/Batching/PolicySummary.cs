using System.Text.Json.Serialization;

namespace EventPipeline.Bench.Batching;

/// <summary>
/// One policy over its repetitions (runs that failed their checks left out): medians with bootstrap 95% intervals,
/// the simulator's prediction beside them, and the paired p99 change against the best baseline (same repetition).
/// </summary>
/// <param name="P99ChangeVsBestBaselinePercent">Per repetition 100 x (p99 - best baseline's p99) / best baseline's p99;
/// null for the best baseline itself or without paired runs.</param>
/// <param name="MeetsConstraint">Median inserts/s within the limit and median throughput within 1% of the best policy's.</param>
internal sealed record PolicySummary(
    [property: JsonPropertyName("policy")] string Policy,
    [property: JsonPropertyName("description")] string Description,
    [property: JsonPropertyName("is_baseline")] bool IsBaseline,
    [property: JsonPropertyName("runs")] int Runs,
    [property: JsonPropertyName("ok_runs")] int OkRuns,
    [property: JsonPropertyName("events_per_s")] MedianInterval? EventsPerSecond,
    [property: JsonPropertyName("p50_ms")] MedianInterval? P50Ms,
    [property: JsonPropertyName("p95_ms")] MedianInterval? P95Ms,
    [property: JsonPropertyName("p99_ms")] MedianInterval? P99Ms,
    [property: JsonPropertyName("max_ms")] MedianInterval? MaxMs,
    [property: JsonPropertyName("inserts_per_s")] MedianInterval? InsertsPerSecond,
    [property: JsonPropertyName("max_active_parts")] MedianInterval? MaxActiveParts,
    [property: JsonPropertyName("seconds_to_drain_backlog")] MedianInterval? SecondsToDrainBacklog,
    [property: JsonPropertyName("meets_constraint")] bool MeetsConstraint,
    [property: JsonPropertyName("p99_change_vs_best_baseline_percent")] MedianInterval? P99ChangeVsBestBaselinePercent,
    [property: JsonPropertyName("simulated")] PolicyNumbers Simulated)
{
    public static PolicySummary From(PolicySpec spec, IReadOnlyList<PolicyRun> all, PolicyNumbers simulated)
    {
        var ok = all.Where(r => r.Ok).ToList();
        MedianInterval? Of(Func<PolicyRun, double?> value)
        {
            var values = ok.Select(value).OfType<double>().Where(double.IsFinite).ToArray();
            return values.Length == 0 ? null : MedianInterval.From(values);
        }
        return new PolicySummary(spec.Name, spec.Description, spec.IsBaseline, all.Count, ok.Count,
            Of(r => r.Measured.EventsPerSecond), Of(r => r.Measured.P50Ms), Of(r => r.Measured.P95Ms), Of(r => r.Measured.P99Ms), Of(r => r.Measured.MaxMs),
            Of(r => r.Measured.InsertsPerSecond), Of(r => r.MaxActiveParts), Of(r => r.Backlog?.SecondsToDrain), false, null, simulated);
    }

    /// <summary>This policy's p99 change against <paramref name="best"/>'s, paired by repetition.</summary>
    public static MedianInterval? PairedP99Change(IReadOnlyList<PolicyRun> runs, IReadOnlyList<PolicyRun> best)
    {
        var changes = runs.Where(r => r.Ok)
            .Join(best.Where(r => r.Ok), r => r.Repetition, b => b.Repetition, (r, b) => 100 * (r.Measured.P99Ms - b.Measured.P99Ms) / b.Measured.P99Ms)
            .Where(double.IsFinite).ToArray();
        return changes.Length == 0 ? null : MedianInterval.From(changes);
    }

    public string Row() => OkRuns == 0
        ? $"{Policy,-20} no run passed its checks"
        : $"{Policy,-20} {EventsPerSecond!.Median,9:N0} {P50Ms!.Median,7:F0} {P95Ms!.Median,7:F0} {P99Ms!.Median,7:F0} [{P99Ms.Low,6:F0}-{P99Ms.High,6:F0}] {MaxMs!.Median,7:F0} " +
          $"{InsertsPerSecond!.Median,6:F2} {MaxActiveParts!.Median,6:F0} {(P99ChangeVsBestBaselinePercent is { } c ? $"{c.Median,6:+0.0;-0.0}% [{c.Low:+0.0;-0.0}, {c.High:+0.0;-0.0}]" : "-"),-26}" +
          $" | sim p50 {Simulated.P50Ms,6:F0} p99 {Simulated.P99Ms,6:F0} ins/s {Simulated.InsertsPerSecond,5:F2}";
}
