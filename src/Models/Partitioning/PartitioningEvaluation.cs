using EventPipeline.Stages.Partitioning;

namespace EventPipeline.Models.Partitioning;

/// <summary>Median and range of one measure over the seeds of an evaluation cell.</summary>
public readonly record struct SeedRange(double Median, double Min, double Max)
{
    public static SeedRange Of(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
            return new SeedRange(double.NaN, double.NaN, double.NaN);
        int mid = sorted.Length / 2;
        double median = sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        return new SeedRange(Math.Round(median, 4), Math.Round(sorted[0], 4), Math.Round(sorted[^1], 4));
    }

    public override string ToString() => $"{Median:F3} [{Min:F3}-{Max:F3}]";
}

/// <summary>
/// One strategy on one workload and partition count, over several seeds.
/// <see cref="Score"/> is the training reward's yardstick applied to the whole run so that every strategy can be scored:
/// -(hottest/mean - 1) - spread weight * spread cost - latency weight * latency, where the spread cost counts the
/// partitions each key really used (the training reward counts the fan-outs decided).
/// </summary>
public sealed record PartitioningEvaluationRow(string Workload, int Partitions, string Strategy, int Seeds, SeedRange Gini, SeedRange HottestOverMean,
    SeedRange MeanKeySpread, SeedRange MaxKeySpread, SeedRange SpreadCost, SeedRange LatencyIntervals, SeedRange Score);

/// <summary>
/// The simulator evaluation behind the model card and the report: hash, round-robin, PKG, bounded-load (eps 0.25),
/// D-Choices (eps 0.1) and, when given, the PPO policy, on every workload at 64 and 128 partitions with the same seeds.
/// </summary>
public static class PartitioningEvaluation
{
    /// <summary>Seeds of the evaluation streams; training draws its own from the training seed, so they do not overlap in practice.</summary>
    public const int FirstSeed = 1_000_003;

    public static readonly IReadOnlyList<int> PartitionCounts = [64, 128];

    public static IReadOnlyList<(string Name, PartitionerOptions Options)> Baselines { get; } =
    [
        ("hash", new PartitionerOptions { Strategy = PartitionStrategy.Hash }),
        ("round-robin", new PartitionerOptions { Strategy = PartitionStrategy.RoundRobin }),
        ("pkg", new PartitionerOptions { Strategy = PartitionStrategy.PartialKeyGrouping }),
        ("bounded-load", new PartitionerOptions { Strategy = PartitionStrategy.BoundedLoad, BoundedLoadEpsilon = 0.25 }),
        ("d-choices", new PartitionerOptions { Strategy = PartitionStrategy.DChoices, DChoicesEpsilon = 0.1 }),
    ];

    /// <param name="learned">The learned policy (evaluated as "ppo"), or null for the baselines only.</param>
    /// <param name="messages">Per run; 64 decision intervals by default.</param>
    public static List<PartitioningEvaluationRow> Run(IFanOutPolicy? learned, FanOutReward reward, int seeds = 5, long messages = 64 * 16_384,
        IReadOnlyList<string>? workloads = null, Action<PartitioningEvaluationRow>? progress = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(seeds, 1);
        var strategies = Baselines.ToList();
        if (learned is not null)
            strategies.Add(("ppo", new PartitionerOptions { Strategy = PartitionStrategy.Learned }));
        var rows = new List<PartitioningEvaluationRow>();
        foreach (var workloadName in workloads ?? PartitioningWorkload.Names)
        {
            var workload = PartitioningWorkload.Get(workloadName);
            foreach (var partitions in PartitionCounts)
            {
                var simulator = new PartitioningSimulator(new PartitioningSimulatorOptions { PartitionCount = partitions });
                foreach (var (name, options) in strategies)
                {
                    var results = Enumerable.Range(FirstSeed, seeds)
                        .Select(seed => simulator.Run(options, options.Strategy == PartitionStrategy.Learned ? learned : null, workload, messages, seed))
                        .ToList();
                    var row = new PartitioningEvaluationRow(workloadName, partitions, name, seeds, SeedRange.Of(results.Select(r => r.Gini)),
                        SeedRange.Of(results.Select(r => r.HottestOverMean)), SeedRange.Of(results.Select(r => r.MeanKeySpread)),
                        SeedRange.Of(results.Select(r => (double)r.MaxKeySpread)), SeedRange.Of(results.Select(r => r.SpreadCost)),
                        SeedRange.Of(results.Select(r => r.LatencyIntervals)),
                        SeedRange.Of(results.Select(r => reward.Reward(r.HottestOverMean, r.SpreadCost, r.LatencyIntervals))));
                    rows.Add(row);
                    progress?.Invoke(row);
                }
            }
        }
        return rows;
    }

    /// <summary>Mean score per strategy over all cells; the verdict says whether PPO beats the best classical strategy.</summary>
    public static string Verdict(IReadOnlyList<PartitioningEvaluationRow> rows)
    {
        var scores = rows.GroupBy(r => r.Strategy).Select(g => (Strategy: g.Key, Score: g.Average(r => r.Score.Median))).OrderByDescending(s => s.Score).ToList();
        var line = string.Join(", ", scores.Select(s => $"{s.Strategy} {s.Score:F3}"));
        if (!scores.Any(s => s.Strategy == "ppo"))
            return $"mean score: {line}";
        var best = scores[0];
        return best.Strategy == "ppo"
            ? $"ppo has the best mean score in the simulator ({line})"
            : $"ppo does NOT beat {best.Strategy} in the simulator ({line}); use {best.Strategy}";
    }

    /// <summary>The table as fixed-width text, one row per cell.</summary>
    public static IEnumerable<string> Format(IReadOnlyList<PartitioningEvaluationRow> rows)
    {
        yield return $"{"workload",-14}{"n",4} {"strategy",-13}{"gini",-22}{"hottest/mean",-24}{"key spread mean",-22}{"max",-16}{"latency (intervals)",-24}{"score"}";
        foreach (var r in rows)
            yield return $"{r.Workload,-14}{r.Partitions,4} {r.Strategy,-13}{r.Gini,-22}{r.HottestOverMean,-24}{r.MeanKeySpread,-22}" +
                         $"{$"{r.MaxKeySpread.Median:F0} [{r.MaxKeySpread.Min:F0}-{r.MaxKeySpread.Max:F0}]",-16}{r.LatencyIntervals,-24}{r.Score}";
    }
}
