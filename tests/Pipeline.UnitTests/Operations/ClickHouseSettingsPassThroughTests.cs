using EventPipeline.Host.Configuration;
using EventPipeline.Stages.ClickHouse;
using Microsoft.Extensions.Configuration;

namespace EventPipeline.Tests.Operations;

/// <summary>ClickHouse:Settings:&lt;name&gt;=&lt;value&gt; reaches the sink, and only plausible setting names are accepted.</summary>
public sealed class ClickHouseSettingsPassThroughTests
{
    private static PipelineSettings Load(params (string Key, string Value)[] extra)
    {
        var values = new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = "localhost:9092",
            ["Kafka:Topic"] = "events",
            ["ClickHouse:Url"] = "http://localhost:8123",
        };
        foreach (var (key, value) in extra)
            values[key] = value;
        return PipelineSettings.Load(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
    }

    [Fact]
    public void Settings_reach_the_sink_options()
    {
        var settings = Load(("ClickHouse:Settings:insert_distributed_sync", "1"), ("ClickHouse:Settings:insert_distributed_timeout", "30"));
        var sink = settings.ToSinkOptions();
        Assert.Equal("1", sink.Settings["insert_distributed_sync"]);
        Assert.Equal("30", sink.Settings["insert_distributed_timeout"]);
        Assert.Contains("insert_distributed_sync=1", settings.Describe());
    }

    [Theory]
    [InlineData("Insert_Distributed_Sync")]
    [InlineData("max_threads2")]
    [InlineData("query")]
    [InlineData("password")]
    [InlineData("user")]
    [InlineData("database")]
    public void Bad_or_reserved_names_are_refused_naming_the_key(string name)
    {
        var ex = Assert.Throws<ConfigurationException>(() => Load(($"ClickHouse:Settings:{name}", "1")));
        Assert.Contains($"ClickHouse:Settings:{name}", ex.Message);
    }

    [Fact]
    public void Names_are_checked_by_the_client_too() =>
        Assert.Throws<ArgumentException>(() => new ClickHouseHttpClient(new Uri("http://localhost:8123"), "default", null, null, TimeSpan.FromSeconds(1),
            new Dictionary<string, string> { ["x&query=DROP"] = "1" }));
}
