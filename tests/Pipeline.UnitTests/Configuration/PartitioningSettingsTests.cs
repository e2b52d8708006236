using EventPipeline.Host.Commands;
using EventPipeline.Host.Configuration;
using EventPipeline.Stages.Partitioning;
using Microsoft.Extensions.Configuration;

namespace EventPipeline.Tests.Configuration;

/// <summary>Partitioning:* and --partitioner of the producing commands: defaults, precedence, and errors that name the key.</summary>
public sealed class PartitioningSettingsTests
{
    private static (PartitionerOptions Options, PartitioningSettings Settings) Read(string? option, params (string Key, string Value)[] values) =>
        PartitioningSettings.Read(
            new ConfigurationBuilder().AddInMemoryCollection(values.ToDictionary(v => v.Key, v => (string?)v.Value)).Build(), option, "d-choices");

    [Fact]
    public void The_option_wins_over_the_setting_which_wins_over_the_default()
    {
        Assert.Equal(PartitionStrategy.DChoices, Read(null).Options.Strategy);
        Assert.Equal(PartitionStrategy.BoundedLoad, Read(null, ("Partitioning:Strategy", "bounded-load")).Options.Strategy);
        Assert.Equal(PartitionStrategy.Hash, Read("hash", ("Partitioning:Strategy", "bounded-load")).Options.Strategy);
        var tuned = Read("pkg", ("Partitioning:HeavyKeys", "8"), ("Partitioning:BoundedLoadEpsilon", "0.5"), ("Partitioning:Shadow", "true")).Options;
        Assert.Equal((8, 0.5, true), (tuned.HeavyKeys, tuned.BoundedLoadEpsilon, tuned.Shadow));
    }

    [Theory]
    [InlineData("sticky", null, null, "--partitioner 'sticky'")]
    [InlineData(null, "Partitioning:Strategy", "consistent", "Partitioning:Strategy 'consistent'")]
    [InlineData(null, "Partitioning:HeavyKeys", "0", "Partitioning:HeavyKeys 0")]
    [InlineData(null, "Partitioning:BoundedLoadEpsilon", "-1", "Partitioning:BoundedLoadEpsilon -1")]
    [InlineData(null, "Partitioning:HalfLifeMessages", "10", "Partitioning:HalfLifeMessages 10")]
    [InlineData(null, "Partitioning:HeavyKey", "4", "HeavyKey")]
    [InlineData(null, "Partitioning:HeavyKeys", "many", "Partitioning:HeavyKeys")]
    public void A_bad_strategy_or_knob_is_a_configuration_error_naming_it(string? option, string? key, string? value, string named)
    {
        var values = key is null ? [] : new[] { (key, value!) };
        var error = Assert.Throws<ConfigurationException>(() => Read(option, values));
        Assert.Contains(named, error.Message);
    }

    [Fact]
    public void The_ppo_policy_loads_from_the_shipped_artifact_and_a_bad_path_or_too_many_heavy_keys_name_their_key()
    {
        var options = new PartitionerOptions { Strategy = PartitionStrategy.Learned };
        Assert.Equal("ppo", LearnedPartitioning.Load("", options).Name);
        Assert.Contains("Partitioning:ModelPath '/nonexistent/partitioner'", Assert.Throws<ConfigurationException>(() => LearnedPartitioning.Load("/nonexistent/partitioner", options)).Message);
        Assert.Contains("Partitioning:HeavyKeys 32", Assert.Throws<ConfigurationException>(() => LearnedPartitioning.Load("", options with { HeavyKeys = 32 })).Message);
    }
}
