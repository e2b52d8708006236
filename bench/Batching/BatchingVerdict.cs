using System.Globalization;

namespace EventPipeline.Bench.Batching;

/// <summary>
/// The target for the learned policy: >= 10% lower p99 than the best tuned baseline, the 95% interval of the
/// paired difference excluding 0, at equal or higher throughput and no more inserts/s, over >= 10 runs per policy.
/// </summary>
internal sealed record BatchingVerdict(string? BestBaseline, MedianInterval? LearnedP99ChangePercent, bool? Met, string Summary)
{
    public const int MinimumRepetitions = 10;
    public const double RequiredP99ChangePercent = -10;

    public static BatchingVerdict Judge(string profile, List<PolicySummary> summaries, PolicySummary? best, int repetitions)
    {
        var learned = summaries.SingleOrDefault(s => !s.IsBaseline);
        if (learned is null)
            return new(best?.Policy, null, null, "no learned policy in this run (grid tuning or --no-dqn)");
        if (best is null)
            return new(null, null, null, "no baseline meets the constraint: nothing to compare against");
        var change = learned.P99ChangeVsBestBaselinePercent;
        if (change is null || learned.EventsPerSecond is null || learned.InsertsPerSecond is null)
            return new(best.Policy, null, null, $"{learned.Policy}: no paired run passed its checks");
        // Equal throughput as in the constraint: the learned policy's interval reaches the best baseline's median (within 1%).
        var throughputOk = learned.EventsPerSecond.High >= 0.99 * best.EventsPerSecond!.Median;
        var insertsOk = learned.InsertsPerSecond.Median <= best.InsertsPerSecond!.Median;
        var better = change.Median <= RequiredP99ChangePercent && change.High < 0;
        bool? met = repetitions < MinimumRepetitions ? null : better && throughputOk && insertsOk;
        var outcome = met switch
        {
            null => $"not judged ({repetitions} repetitions, the target needs {MinimumRepetitions})",
            true => "MET",
            false => "NOT MET",
        };
        var summary = string.Create(CultureInfo.InvariantCulture,
            $"{profile}: best baseline {best.Policy} p99 {best.P99Ms!.Median:F0} ms; {learned.Policy} p99 {learned.P99Ms!.Median:F0} ms, paired change " +
            $"{change.Median:+0.0;-0.0}% [95% CI {change.Low:+0.0;-0.0}, {change.High:+0.0;-0.0}], throughput {learned.EventsPerSecond.Median:N0} vs " +
            $"{best.EventsPerSecond.Median:N0} ev/s, inserts/s {learned.InsertsPerSecond.Median:F2} vs {best.InsertsPerSecond.Median:F2}; target {outcome}");
        return new(best.Policy, change, met, summary);
    }
}
