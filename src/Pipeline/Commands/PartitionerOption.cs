using System.CommandLine;
using EventPipeline.Host.Configuration;
using EventPipeline.Stages.Partitioning;
using Microsoft.Extensions.Configuration;

namespace EventPipeline.Host.Commands;

/// <summary>--partitioner of the producing commands (produce, generate), read with the Partitioning:* configuration.</summary>
internal static class PartitionerOption
{
    public const string Name = "--partitioner";

    /// <summary>What a producer uses when neither --partitioner nor Partitioning:Strategy says otherwise.</summary>
    public const string DefaultStrategy = "hash";

    public static Option<string?> Create() => new(Name)
    {
        Description = $"How keyed (app_id) messages are spread over partitions: {PartitionStrategyNames.All} " +
            $"(default {DefaultStrategy}; README \"Partitioning\"). Knobs: --Partitioning:Key=value.",
    };

    /// <summary>The partitioner options and, for ppo, its loaded policy.</summary>
    /// <exception cref="ConfigurationException">An unknown strategy or key, a value out of range, or a ppo model that cannot be loaded.</exception>
    public static (PartitionerOptions Options, IFanOutPolicy? LearnedPolicy) Read(ParseResult parse, IConfiguration configuration)
    {
        var (options, settings) = PartitioningSettings.Read(configuration, parse.GetValue<string?>(Name), DefaultStrategy);
        return (options, options.Strategy == PartitionStrategy.Learned ? LearnedPartitioning.Load(settings.ModelPath, options) : null);
    }
}
