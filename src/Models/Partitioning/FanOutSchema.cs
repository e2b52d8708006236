using System.Security.Cryptography;
using System.Text;
using EventPipeline.Stages.Partitioning;

namespace EventPipeline.Models.Partitioning;

/// <summary>
/// The learned fan-out policy's observation, action and reward definitions. A trained model is only valid for the exact
/// features (and their scaling), the action list and the reward it was trained for: <see cref="Hash"/> covers all three
/// and is stored with the model, so changing any of them here makes old artifacts refused until retrained.
/// </summary>
public static class FanOutSchema
{
    /// <summary>Heavy-key slots the network sees (FanOutPartitioner's HeavyKeys default); more keys than this are refused.</summary>
    public const int Slots = 16;

    /// <summary>Bump when <see cref="FanOutReward.Reward"/> changes meaning.</summary>
    public const string RewardVersion = "balance-spread-latency-v2";

    /// <summary>Per heavy-key slot; the last three are global and repeated in every slot so the shared MLP sees them.</summary>
    public static readonly IReadOnlyList<string> Features =
    [
        "log2_1p_share_times_n_over_6", "log2_fanout_over_6", "candidate_load_over_mean_clip8_over_8",
        "gini", "log2_hottest_over_mean_clip6_over_6", "log2_partitions_over_7",
    ];

    /// <summary>Fan-outs (candidate partitions) a heavy key may get; those above the partition count are masked out.</summary>
    public static readonly IReadOnlyList<int> Actions = [1, 2, 4, 8, 16, 32, 64];

    public static int FeatureCount => Features.Count;

    public static int ActionCount => Actions.Count;

    public static string Hash { get; } = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
        $"slots:{Slots};features:{string.Join(',', Features)};actions:{string.Join(',', Actions)};reward:{RewardVersion}")))[..16];

    /// <summary>
    /// Writes the features of <paramref name="state"/> (Slots x FeatureCount, row per slot) and the slot mask (1: a heavy key
    /// is there). Allocation-free: the runtime policy calls it on the producing thread.
    /// </summary>
    public static void Observe(FanOutState state, Span<float> features, Span<float> slotMask)
    {
        if (state.HeavyKeys.Count > Slots)
            throw new ArgumentException($"the model has {Slots} heavy-key slots, the partitioner gave {state.HeavyKeys.Count} keys (Partitioning:HeavyKeys)", nameof(state));
        features.Clear();
        slotMask.Clear();
        int n = state.PartitionCount;
        float gini = (float)state.Gini;
        float hottest = (float)(Math.Min(Math.Log2(Math.Max(1, state.HottestOverMean)), 6) / 6);
        float partitions = (float)(Math.Log2(n) / 7);
        for (int slot = 0; slot < state.HeavyKeys.Count; slot++)
        {
            var key = state.HeavyKeys[slot];
            var row = features.Slice(slot * FeatureCount, FeatureCount);
            row[0] = (float)(Math.Log2(1 + (key.Share * n)) / 6);
            row[1] = (float)(Math.Log2(Math.Max(1, key.FanOut)) / 6);
            row[2] = (float)(Math.Min(key.CandidateLoad, 8) / 8);
            row[3] = gini;
            row[4] = hottest;
            row[5] = partitions;
            slotMask[slot] = 1;
        }
    }

    /// <summary>Whether action <paramref name="action"/> is allowed with <paramref name="partitionCount"/> partitions.</summary>
    public static bool Allowed(int action, int partitionCount) => Actions[action] <= partitionCount || action == 0;
}

/// <summary>
/// Reward of one decision, measured on the interval it acted on:
/// -(hottest/mean - 1) - SpreadWeight * sum_k max(share_k, 1/n) * max(0, log2(fanout_k) - 1) - LatencyWeight * latency proxy.
/// The balance term is what fan-out is for. The spread term charges each doubling beyond PKG's two by the key's share,
/// so that doubling pays only while it lowers the hottest partition by more than the key's share, which stops once the
/// key's per-candidate load nears the mean (the D-Choices point). A key lighter than a mean partition (share below 1/n)
/// has nothing to gain from spreading and is charged as if it had 1/n: charged by its tiny share alone, spreading it was
/// almost free and the trained policy (v1 of this reward) gave cold heavy-key slots fan-outs of up to 64.
/// Throughput has no separate term: in the consumer model it falls short exactly when a backlog (the latency term) grows.
/// </summary>
public sealed record FanOutReward
{
    public double SpreadWeight { get; init; } = 1.0;

    public double LatencyWeight { get; init; } = 1.0;

    /// <summary>One heavy key's part of the spread term: max(share, 1/n) * max(0, log2(fan-out) - 1).</summary>
    public static double SpreadOf(double share, int fanOut, int partitionCount) =>
        Math.Max(share, 1.0 / partitionCount) * Math.Max(0, Math.Log2(fanOut) - 1);

    public double Reward(double hottestOverMean, double spread, double latencyIntervals) =>
        -(hottestOverMean - 1) - (SpreadWeight * spread) - (LatencyWeight * latencyIntervals);
}
