using System.Globalization;
using System.Text.Json.Serialization;
using EventPipeline.Stages.Batching;

namespace EventPipeline.Models.Batching;

/// <summary>
/// The gate before a policy is trained in the simulator: for the static policies, simulated p50 and p99 within
/// +-15% of the measured medians, and the simulator ranking them by p99 as the real pipeline does wherever the real
/// pipeline tells them apart (medians more than the tolerance apart; closer ones are a tie the noise decides).
/// Judged on runs the calibration was not fitted on.
/// </summary>
public sealed record SimToRealGate(
    [property: JsonPropertyName("tolerance_percent")] double TolerancePercent,
    [property: JsonPropertyName("static_policies")] IReadOnlyList<SimToRealGate.Comparison> StaticPolicies,
    [property: JsonPropertyName("ranking_preserved")] bool? RankingPreserved,
    [property: JsonPropertyName("passed")] bool? Passed,
    [property: JsonPropertyName("summary")] string Summary)
{
    public const double Tolerance = 15;

    public sealed record Comparison(
        [property: JsonPropertyName("policy")] string Policy,
        [property: JsonPropertyName("measured_p50_ms")] double MeasuredP50Ms,
        [property: JsonPropertyName("simulated_p50_ms")] double SimulatedP50Ms,
        [property: JsonPropertyName("measured_p99_ms")] double MeasuredP99Ms,
        [property: JsonPropertyName("simulated_p99_ms")] double SimulatedP99Ms)
    {
        [JsonPropertyName("p50_error_percent")]
        public double P50ErrorPercent => Error(SimulatedP50Ms, MeasuredP50Ms);

        [JsonPropertyName("p99_error_percent")]
        public double P99ErrorPercent => Error(SimulatedP99Ms, MeasuredP99Ms);

        private static double Error(double simulated, double measured) => Math.Round(100 * (simulated - measured) / measured, 1);
    }

    /// <summary>Simulates every static size of <paramref name="runs"/> with <paramref name="calibration"/> and compares it with the runs' medians.</summary>
    public static SimToRealGate Judge(SimulatorCalibration calibration, RecordedTrace trace, IReadOnlyList<RecordedPolicyRun> runs)
    {
        var load = trace.Load();
        return Judge([.. runs.Where(r => r.StaticSize is not null).GroupBy(r => r.Policy).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
        {
            var simulated = calibration.Simulate(load, new StaticBatchSizePolicy(g.First().StaticSize!.Value));
            return new Comparison(g.Key, Ms(SampleStatistics.Median(g.Select(r => r.P50Seconds))), Ms(simulated.P50Seconds),
                Ms(SampleStatistics.Median(g.Select(r => r.P99Seconds))), Ms(simulated.P99Seconds));
        })]);
    }

    public static SimToRealGate Judge(IReadOnlyList<Comparison> statics)
    {
        if (statics.Count == 0)
            return new(Tolerance, statics, null, null, "no static policy measured");
        var within = statics.All(c => Math.Abs(c.P50ErrorPercent) <= Tolerance && Math.Abs(c.P99ErrorPercent) <= Tolerance);
        var distinct = statics.SelectMany((a, i) => statics.Skip(i + 1).Select(b => (a, b)))
            .Where(p => Math.Abs(p.a.MeasuredP99Ms - p.b.MeasuredP99Ms) > Tolerance / 100 * Math.Min(p.a.MeasuredP99Ms, p.b.MeasuredP99Ms)).ToList();
        bool? ranking = distinct.Count == 0 ? null
            : distinct.All(p => Math.Sign(p.a.MeasuredP99Ms - p.b.MeasuredP99Ms) == Math.Sign(p.a.SimulatedP99Ms - p.b.SimulatedP99Ms));
        var passed = within && ranking != false;
        var worst = statics.MaxBy(c => Math.Max(Math.Abs(c.P50ErrorPercent), Math.Abs(c.P99ErrorPercent)))!;
        return new(Tolerance, statics, ranking, passed, string.Create(CultureInfo.InvariantCulture,
            $"{(passed ? "passed" : "FAILED")}: largest error {worst.Policy} p50 {worst.P50ErrorPercent:+0;-0;0}%, p99 {worst.P99ErrorPercent:+0;-0;0}% " +
            $"(tolerance +-{Tolerance}%); ranking by p99 {(ranking switch { null => "not checked (no two static sizes measurably apart)", true => "preserved", false => "NOT preserved" })}"));
    }

    private static double Ms(double seconds) => Math.Round(seconds * 1000, 1);
}
