using EventPipeline.Host.Configuration;
using EventPipeline.Models.Partitioning;
using EventPipeline.Stages.Partitioning;

namespace EventPipeline.Host.Commands;

/// <summary>Loads the ppo partitioning policy for the producing commands (produce, generate).</summary>
internal static class LearnedPartitioning
{
    /// <param name="modelPath">Partitioning:ModelPath; empty: the artifact shipped next to the executable.</param>
    /// <exception cref="ConfigurationException">The model cannot be loaded, or the options ask for more heavy keys than it decides for.</exception>
    public static IFanOutPolicy Load(string modelPath, PartitionerOptions options)
    {
        if (options.HeavyKeys > FanOutSchema.Slots)
            throw new ConfigurationException($"Partitioning:HeavyKeys {options.HeavyKeys}: the ppo policy decides for at most {FanOutSchema.Slots} heavy keys");
        var directory = string.IsNullOrWhiteSpace(modelPath) ? PartitionerArtifact.DefaultDirectory : modelPath;
        try
        {
            return PpoFanOutPolicy.Load(directory);
        }
        catch (PartitionerModelException ex)
        {
            throw new ConfigurationException($"Partitioning:ModelPath '{directory}': {ex.Message}", ex);
        }
    }
}
