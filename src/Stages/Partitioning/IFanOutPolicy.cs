namespace EventPipeline.Stages.Partitioning;

/// <summary>A heavy key as a <see cref="FanOutPartitioner"/> sees it when it asks its policy.</summary>
/// <param name="KeyId">The key's 64-bit hash.</param>
/// <param name="Share">Its share of this producer's recent messages (0..1).</param>
/// <param name="FanOut">How many partitions it may use now.</param>
/// <param name="CandidateLoad">The mean recent load of its current candidate partitions over the mean partition load.</param>
public readonly record struct HeavyKey(ulong KeyId, double Share, int FanOut, double CandidateLoad);

/// <summary>What a fan-out policy decides on: the heaviest keys (heaviest first) and how balanced the partitions are.</summary>
public sealed record FanOutState(int PartitionCount, IReadOnlyList<HeavyKey> HeavyKeys, double Gini, double HottestOverMean);

/// <summary>
/// Decides how many candidate partitions each heavy key gets (the others keep Partial Key Grouping's two). Called every
/// <see cref="FanOutPartitioner.DecisionIntervalMessages"/> messages on the producing thread.
/// </summary>
public interface IFanOutPolicy
{
    /// <summary>A short name for logs and the decision-source metric label.</summary>
    string Name { get; }

    /// <summary>Writes one fan-out per heavy key (same order) into <paramref name="fanOuts"/>, each within 1..partition count.</summary>
    void Decide(FanOutState state, Span<int> fanOuts);
}

/// <summary>
/// D-Choices (Nasir et al., "When Two Choices Are not Enough", ICDE 2016), the classical answer to keys too heavy for
/// two partitions: a key with share s gets d = ceil(s * n / (1 + epsilon)) choices, at least 2, so that spread evenly over
/// its d partitions it stays within (1 + epsilon) of the mean partition load.
/// </summary>
public sealed class DChoicesPolicy(double epsilon = 0.1) : IFanOutPolicy
{
    public double Epsilon { get; } = epsilon > 0 ? epsilon : throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "must be above 0");

    public string Name => "d-choices";

    public void Decide(FanOutState state, Span<int> fanOuts)
    {
        for (int i = 0; i < state.HeavyKeys.Count; i++)
        {
            var needed = (int)Math.Ceiling(state.HeavyKeys[i].Share * state.PartitionCount / (1 + Epsilon));
            fanOuts[i] = Math.Clamp(needed, Math.Min(2, state.PartitionCount), state.PartitionCount);
        }
    }
}
