using EventPipeline.Stages.Partitioning;

namespace EventPipeline.Models.Partitioning;

/// <summary>
/// The trained PPO fan-out policy: for each heavy key, the most likely fan-out of the network (greedy, no sampling),
/// within 1..partition count. Decides with buffers allocated once and no libtorch call (<see cref="FanOutInference"/>),
/// ~16 small MLP passes per decision. Not thread-safe: one partitioner, one producing thread.
/// </summary>
public sealed class PpoFanOutPolicy : IFanOutPolicy
{
    private readonly FanOutInference _network;
    private readonly float[] _features = new float[FanOutSchema.Slots * FanOutSchema.FeatureCount];
    private readonly float[] _slotMask = new float[FanOutSchema.Slots];
    private readonly float[] _logits = new float[FanOutSchema.Slots * FanOutSchema.ActionCount];

    public PpoFanOutPolicy(FanOutInference network) => _network = network ?? throw new ArgumentNullException(nameof(network));

    /// <summary>The version of the artifact it was loaded from ("" when built from weights in memory).</summary>
    public string Version { get; private init; } = "";

    public string Name => "ppo";

    /// <summary>Loads the artifact in <paramref name="directory"/>; throws <see cref="PartitionerModelException"/> saying what is wrong.</summary>
    public static PpoFanOutPolicy Load(string directory)
    {
        var (metadata, weights) = PartitionerArtifact.Load(directory);
        return new PpoFanOutPolicy(new FanOutInference(weights, metadata.Ppo.Hidden)) { Version = metadata.Version };
    }

    public void Decide(FanOutState state, Span<int> fanOuts)
    {
        FanOutSchema.Observe(state, _features, _slotMask);
        _network.Forward(_features, _slotMask, state.PartitionCount, _logits);
        for (int slot = 0; slot < state.HeavyKeys.Count; slot++)
        {
            var row = _logits.AsSpan(slot * FanOutSchema.ActionCount, FanOutSchema.ActionCount);
            int best = 0;
            for (int action = 1; action < row.Length; action++)
            {
                if (row[action] > row[best])
                    best = action;
            }
            fanOuts[slot] = Math.Min(FanOutSchema.Actions[best], state.PartitionCount);
        }
    }
}
