using EventPipeline.Host;
using EventPipeline.Host.Commands;
using EventPipeline.Host.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace EventPipeline.Tests.Configuration;

/// <summary>`pipeline produce`'s metrics settings and what its /healthz and /readyz report.</summary>
public sealed class ProduceSettingsTests
{
    private static readonly CodecProduceRequest FromTopic = new("b:9092", "events", "model", "raw", "group", 4096, 5);
    private static readonly CodecProduceRequest FromStdin = FromTopic with { FromTopic = null, Group = null };

    private static MetricsSettings Settings(CodecProduceRequest request, params (string Key, string Value)[] values) =>
        ProduceCommand.MetricsSettingsFor(
            new ConfigurationBuilder().AddInMemoryCollection(values.ToDictionary(v => v.Key, v => (string?)v.Value)).Build(), request);

    [Fact]
    public void From_a_topic_it_serves_on_the_workers_default_port_and_from_stdin_only_when_a_port_is_given()
    {
        Assert.Equal(new MetricsSettings().Port, Settings(FromTopic).Port);
        Assert.Equal(0, Settings(FromStdin).Port);
        Assert.Equal(9500, Settings(FromStdin, ("Metrics:Port", "9500")).Port);
        var explicitlyOff = Settings(FromTopic, ("Metrics:Port", "0"), ("Metrics:Host", "127.0.0.1"));
        Assert.Equal((0, "127.0.0.1"), (explicitlyOff.Port, explicitlyOff.Host));
    }

    [Theory]
    [InlineData("Metrics:Port", "abc", "Metrics:Port")]
    [InlineData("Metrics:Port", "70000", "Metrics:Port")]
    [InlineData("Metrics:Prot", "1", "Prot")]
    public void A_bad_metrics_setting_is_a_configuration_error_naming_the_key(string key, string value, string named)
    {
        var error = Assert.Throws<ConfigurationException>(() => Settings(FromTopic, (key, value)));
        Assert.Contains(named, error.Message);
    }

    [Fact]
    public void Kafka_properties_reach_the_source_consumer_and_their_security_part_the_producers()
    {
        var parse = ProduceCommand.Create().Parse(["--from-topic", "raw", "--group", "g", "--topic", "events", "--model", "m", "--featurizer-only"]);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = "broker:9093",
            ["Kafka:Properties:security.protocol"] = "SASL_SSL",
            ["Kafka:Properties:sasl.mechanism"] = "SCRAM-SHA-512",
            ["Kafka:Properties:ssl.ca.location"] = "/etc/ca.pem",
            ["Kafka:Properties:session.timeout.ms"] = "30000",
        }).Build();

        var (request, stdin) = ProduceCommand.ReadRequest(parse, configuration);

        Assert.False(stdin);
        Assert.True(request.FeaturizerOnly);
        Assert.Equal("broker:9093", request.BootstrapServers);
        Assert.Equal(4, request.ConsumerProperties.Count);
        Assert.Equal(["sasl.mechanism", "security.protocol", "ssl.ca.location"], request.ProducerProperties.Keys.Order());
    }

    [Fact]
    public async Task Health_fails_and_readiness_ends_once_a_watched_stage_faults()
    {
        var health = ProducePipeline.NewHealthState();
        var stage = new TaskCompletionSource();
        health.Watch(stage.Task, "codec_encode", NullLogger.Instance);
        Assert.True(health.IsHealthy);
        Assert.False(health.IsReady); // not started yet
        health.SetReady();
        Assert.True(health.IsReady);

        stage.SetException(new InvalidOperationException("the model failed"));
        await WaitForAsync(() => !health.IsHealthy);
        Assert.False(health.IsReady);
    }

    /// <summary>The watch runs as a continuation: it lands a moment after the fault.</summary>
    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 100 && !condition(); i++)
            await Task.Delay(20);
        Assert.True(condition());
    }
}
