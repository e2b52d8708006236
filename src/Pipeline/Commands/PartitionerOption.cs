using System.CommandLine;
using EventPipeline.Host.Configuration;
using EventPipeline.Stages.Partitioning;
using Microsoft.Extensions.Configuration;

namespace EventPipeline.Host.Commands;

/// <summary>--partitioner of the producing commands (produce, generate), read with the Partitioning:* configuration.</summary>
internal static class PartitionerOption
{
    public const string Name = "--partitioner";

    /// <summary>
    /// What a producer uses when neither --partitioner nor Partitioning:Strategy says otherwise. d-choices, on the
    /// partitioning bench (perf-data/partitioning-latest.json, docs/partitioning.md): it gives the two workers an even share
    /// where hash gives one of them 65-81% of the rows, keeps most apps on at most two partitions, and balanced better
    /// than the PPO policy where the skew is heaviest. hash keeps each app_id's events in order on one partition.
    /// </summary>
    public const string DefaultStrategy = "d-choices";

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
