using EventPipeline.Host.Configuration;
using EventPipeline.Stages.Partitioning;

namespace EventPipeline.Host.Commands;

/// <summary>Loads the ppo partitioning policy for the producing commands.</summary>
internal static class LearnedPartitioning
{
    /// <exception cref="ConfigurationException">The model cannot be loaded; the message says why.</exception>
    public static IFanOutPolicy Load(string modelPath) =>
        throw new ConfigurationException($"Partitioning:ModelPath '{modelPath}': TEMPORARY until the PPO policy lands");
}
