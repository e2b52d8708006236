using System.Globalization;
using System.Text.Json.Serialization;

namespace EventPipeline.Bench.Batching;

/// <summary>
/// The issue's gate before training in the simulator: for the static policies, simulated p50 and p99 within +-15% of
/// the measured medians, and the simulator ranking them by p99 as the real pipeline does.
/// </summary>
internal sealed record SimToRealGate(
    [property: JsonPropertyName("tolerance_percent")] double TolerancePercent,
    [property: JsonPropertyName("static_policies")] List<SimToRealGate.Comparison> StaticPolicies,
    [property: JsonPropertyName("ranking_preserved")] bool? RankingPreserved,
    [property: JsonPropertyName("passed")] bool? Passed,
    [property: JsonPropertyName("summary")] string Summary)
{
    public const double Tolerance = 15;

    public sealed record Comparison(
        [property: JsonPropertyName("policy")] string Policy,
        [property: JsonPropertyName("p50_error_percent")] double P50ErrorPercent,
        [property: JsonPropertyName("p99_error_percent")] double P99ErrorPercent);

    public static SimToRealGate Judge(List<PolicySummary> summaries)
    {
        var statics = summaries.Where(s => s.Policy.StartsWith("static-", StringComparison.Ordinal) && s.P99Ms is not null).ToList();
        var comparisons = statics.Select(s => new Comparison(s.Policy, Error(s.Simulated.P50Ms, s.P50Ms!.Median), Error(s.Simulated.P99Ms, s.P99Ms!.Median))).ToList();
        if (statics.Count == 0)
            return new(Tolerance, comparisons, null, null, "no static policy measured");
        var within = comparisons.All(c => Math.Abs(c.P50ErrorPercent) <= Tolerance && Math.Abs(c.P99ErrorPercent) <= Tolerance);
        bool? ranking = statics.Count < 2 ? null
            : statics.OrderBy(s => s.P99Ms!.Median).Select(s => s.Policy).SequenceEqual(statics.OrderBy(s => s.Simulated.P99Ms).Select(s => s.Policy));
        var passed = within && ranking != false;
        var worst = comparisons.MaxBy(c => Math.Max(Math.Abs(c.P50ErrorPercent), Math.Abs(c.P99ErrorPercent)))!;
        return new(Tolerance, comparisons, ranking, passed, string.Create(CultureInfo.InvariantCulture,
            $"{(passed ? "passed" : "FAILED")}: largest error {worst.Policy} p50 {worst.P50ErrorPercent:+0;-0}%, p99 {worst.P99ErrorPercent:+0;-0}% " +
            $"(tolerance +-{Tolerance}%); ranking by p99 {(ranking switch { null => "not checked (one static size)", true => "preserved", false => "NOT preserved" })}"));
    }

    private static double Error(double simulated, double measured) => Math.Round(100 * (simulated - measured) / measured, 1);
}
