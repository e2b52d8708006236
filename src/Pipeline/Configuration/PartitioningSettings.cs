using EventPipeline.Stages.Partitioning;
using Microsoft.Extensions.Configuration;

namespace EventPipeline.Host.Configuration;

/// <summary>
/// Partitioning:* for the producing commands (produce, generate): how the producer places keyed messages. The strategy is
/// usually given as --partitioner; the knobs as --Partitioning:Key=value, PIPELINE_Partitioning__Key or appsettings.json.
/// </summary>
public sealed class PartitioningSettings
{
    /// <summary>hash, round-robin, pkg, bounded-load, d-choices or ppo (see README "Partitioning").</summary>
    public string Strategy { get; set; } = "";

    /// <summary>ppo: directory of a `pipeline train partitioner` artifact; empty = the one shipped next to the executable.</summary>
    public string ModelPath { get; set; } = "";

    /// <summary>ppo: the policy decides and its decisions are exported, but placement stays Partial Key Grouping.</summary>
    public bool Shadow { get; set; }

    public double BoundedLoadEpsilon { get; set; } = 0.25;
    public double DChoicesEpsilon { get; set; } = 0.1;
    public int HeavyKeys { get; set; } = 16;
    public int DecisionIntervalMessages { get; set; } = 16_384;
    public int HalfLifeMessages { get; set; } = 65_536;

    /// <summary>The partitioner's options: --partitioner wins over Partitioning:Strategy, which wins over <paramref name="defaultStrategy"/>.</summary>
    /// <exception cref="ConfigurationException">A key is unknown or a value out of range; the message names it.</exception>
    public static (PartitionerOptions Options, PartitioningSettings Settings) Read(IConfiguration configuration, string? strategyOption, string defaultStrategy)
    {
        var settings = new PartitioningSettings();
        try
        {
            configuration.GetSection("Partitioning").Bind(settings, options => options.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException ex)
        {
            throw new ConfigurationException($"Invalid configuration: {ex.Message}", ex); // the binder names the key
        }
        var name = !string.IsNullOrWhiteSpace(strategyOption) ? strategyOption
            : !string.IsNullOrWhiteSpace(settings.Strategy) ? settings.Strategy : defaultStrategy;
        var key = !string.IsNullOrWhiteSpace(strategyOption) ? "--partitioner" : "Partitioning:Strategy";
        if (!PartitionStrategyNames.TryParse(name, out var strategy))
            throw new ConfigurationException($"{key} '{name}' is not a strategy (known: {PartitionStrategyNames.All})");
        try
        {
            return (new PartitionerOptions
            {
                Strategy = strategy,
                Shadow = settings.Shadow,
                BoundedLoadEpsilon = settings.BoundedLoadEpsilon,
                DChoicesEpsilon = settings.DChoicesEpsilon,
                HeavyKeys = settings.HeavyKeys,
                DecisionIntervalMessages = settings.DecisionIntervalMessages,
                HalfLifeMessages = settings.HalfLifeMessages,
            }, settings);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw new ConfigurationException($"Partitioning:{ex.ParamName} {ex.ActualValue}: {ex.Message.Split(" (Parameter", 2)[0]}", ex);
        }
    }
}
