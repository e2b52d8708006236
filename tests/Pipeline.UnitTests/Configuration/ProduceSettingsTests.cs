using EventPipeline.Host;
using EventPipeline.Host.Commands;
using EventPipeline.Host.Configuration;
using EventPipeline.Stages;
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
        Assert.Equal(["sasl.mechanism", "security.protocol", "ssl.ca.location"], request.DeadLetterProducerProperties.Keys.Order());
        Assert.Equal(["sasl.mechanism", "security.protocol", "ssl.ca.location"], request.EnvelopeProducerProperties.Keys.Order());
    }

    [Fact]
    public void Produce_properties_reach_the_envelope_producer_only_and_win_over_the_security_ones()
    {
        var parse = ProduceCommand.Create().Parse(["--from-topic", "raw", "--group", "g", "--topic", "events", "--model", "m"]);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = "broker:9093",
            ["Kafka:Properties:security.protocol"] = "SASL_SSL",
            ["Produce:Properties:compression.type"] = "zstd",
            ["Produce:Properties:linger.ms"] = "50",
            ["Produce:Properties:security.protocol"] = "SSL",
        }).Build();

        var (request, _) = ProduceCommand.ReadRequest(parse, configuration);

        Assert.Equal(new Dictionary<string, string> { ["security.protocol"] = "SSL", ["compression.type"] = "zstd", ["linger.ms"] = "50" }, request.EnvelopeProducerProperties);
        Assert.Equal(new Dictionary<string, string> { ["security.protocol"] = "SASL_SSL" }, request.DeadLetterProducerProperties);
        Assert.DoesNotContain("compression.type", request.ConsumerProperties.Keys);
        Assert.Null(ProduceCommand.Check(request, stdin: false));
    }

    [Fact]
    public void Envelopes_go_out_with_the_producers_zstd_unless_produce_properties_say_otherwise()
    {
        Assert.Equal(Confluent.Kafka.CompressionType.Zstd, TopicProducer.CreateConfig("b:9092", null).CompressionType);
        var chosen = TopicProducer.CreateConfig("b:9092", new Dictionary<string, string> { ["compression.type"] = "lz4" });
        Assert.Equal(Confluent.Kafka.CompressionType.Lz4, chosen.CompressionType);
        Assert.Equal((Confluent.Kafka.Acks.All, true), (chosen.Acks, chosen.EnableIdempotence));
    }

    [Theory]
    [InlineData("compression.typo", "zstd", "Produce:Properties:compression.typo")]
    [InlineData("compression.type", "brotli", "Produce:Properties:compression.type")]
    [InlineData("linger.ms", "soon", "Produce:Properties:linger.ms")]
    [InlineData("acks", "1", "Produce:Properties:acks cannot be set")]
    [InlineData("enable.idempotence", "false", "Produce:Properties:enable.idempotence cannot be set")]
    public void A_produce_property_that_librdkafka_refuses_or_that_would_weaken_acknowledgements_is_an_error_naming_it(string key, string value, string expected)
    {
        var request = FromTopic with { ProduceProperties = new Dictionary<string, string> { [key] = value } };

        var problem = ProduceCommand.Check(request, stdin: false);

        Assert.NotNull(problem);
        Assert.StartsWith(expected, problem);
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
