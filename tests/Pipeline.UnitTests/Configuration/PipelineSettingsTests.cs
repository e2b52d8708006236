using EventPipeline.Host.Configuration;
using Microsoft.Extensions.Configuration;

namespace EventPipeline.Tests.Configuration;

public sealed class PipelineSettingsTests
{
    private static readonly Dictionary<string, string?> Valid = new()
    {
        ["Kafka:BootstrapServers"] = "localhost:9092",
        ["Kafka:Topic"] = "events",
        ["ClickHouse:Url"] = "http://localhost:8123",
    };

    private static PipelineSettings Load(params (string Key, string? Value)[] changes)
    {
        var values = new Dictionary<string, string?>(Valid);
        foreach (var (key, value) in changes)
            values[key] = value;
        return PipelineSettings.Load(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
    }

    [Fact]
    public void Defaults_fill_everything_but_the_three_required_keys()
    {
        var settings = Load();
        Assert.Equal("events.dlq", settings.DeadLetterTopic);
        Assert.Equal("event-pipeline", settings.Kafka.GroupId);
        Assert.Equal(Confluent.Kafka.AutoOffsetReset.Earliest, settings.ToSourceOptions().AutoOffsetReset);
        Assert.Equal(9464, settings.Metrics.Port);
    }

    [Fact]
    public void The_aimd_row_latency_target_reaches_the_aimd_policy_and_is_off_by_default()
    {
        var aimd = Load(("Batch:Policy", "aimd"), ("Batch:Size", "20000"), ("Batch:AimdRowLatencyTargetMs", "800")).CreateBatchPolicy();
        aimd.OnInserted(new EventPipeline.Stages.Batching.BatchInsertOutcome(20_000, 1, 0.1, true, OldestRowAgeSeconds: 0.9));
        Assert.Equal(10_000, aimd.NextBatchSize(new EventPipeline.Stages.Batching.BatchPolicyInput(0, 0, 0)));

        var plain = Load(("Batch:Policy", "aimd"), ("Batch:Size", "20000")).CreateBatchPolicy();
        plain.OnInserted(new EventPipeline.Stages.Batching.BatchInsertOutcome(20_000, 1, 0.1, true, OldestRowAgeSeconds: 0.9));
        Assert.Equal(25_000, plain.NextBatchSize(new EventPipeline.Stages.Batching.BatchPolicyInput(0, 0, 0)));
    }

    [Fact]
    public void Training_simulates_the_workers_default_insert_concurrency_and_flush_timer()
    {
        var worker = Load();
        var training = new EventPipeline.Models.Batching.TrainerOptions().Simulator;
        Assert.Equal(worker.ClickHouse.MaxConcurrentInserts, training.MaxConcurrentInserts);
        Assert.Equal(worker.Batch.MaxLatencyMs / 1000.0, training.MaxLatencySeconds, 9);
        Assert.Equal(worker.Batch.MaxSize, training.MaxSize);
    }

    [Theory]
    [InlineData("Kafka:BootstrapServers", "", "Kafka:BootstrapServers is required")]
    [InlineData("Kafka:Topic", null, "Kafka:Topic is required")]
    [InlineData("ClickHouse:Url", "localhost:8123", "ClickHouse:Url")]
    [InlineData("ClickHouse:Url", "ftp://x", "ClickHouse:Url")]
    [InlineData("ClickHouse:Url", "http://user:secret@x:8123", "ClickHouse:Url must not carry credentials")]
    [InlineData("ClickHouse:Compression", "zstd", "ClickHouse:Compression")]
    [InlineData("ClickHouse:MaxConcurrentInserts", "0", "ClickHouse:MaxConcurrentInserts")]
    [InlineData("ClickHouse:PasswordFile", "/nonexistent/secret", "ClickHouse:PasswordFile")]
    [InlineData("Batch:Size", "0", "Batch:Size")]
    [InlineData("Batch:Size", "lots", "Batch:Size")]
    [InlineData("Batch:Policy", "magic", "Batch:Policy")]
    [InlineData("Batch:MaxLatencyMs", "-5", "Batch:MaxLatencyMs")]
    [InlineData("Batch:AimdRowLatencyTargetMs", "-1", "Batch:AimdRowLatencyTargetMs")]
    [InlineData("Batch:MinInsertIntervalMs", "-1", "Batch:MinInsertIntervalMs")]
    [InlineData("Kafka:AutoOffsetReset", "sometimes", "Kafka:AutoOffsetReset")]
    [InlineData("Kafka:Properties:enable.auto.commit", "true", "enable.auto.commit")]
    [InlineData("Metrics:Port", "70000", "Metrics:Port")]
    [InlineData("Pipeline:QueueCapacity", "0", "Pipeline:QueueCapacity")]
    [InlineData("Batch:Sise", "10", "Sise")]
    [InlineData("Kafak:Topic", "x", "Kafak")]
    [InlineData("Codec:MaxBatchSize", "0", "Codec:MaxBatchSize")]
    [InlineData("Codec:MaxBatchDelayMs", "-1", "Codec:MaxBatchDelayMs")]
    [InlineData("Codec:Model", "/x", "Model")]
    public void A_bad_value_fails_with_a_message_naming_its_key(string key, string? value, string expected)
    {
        var error = Assert.Throws<ConfigurationException>(() => Load((key, value)));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void An_insert_interval_with_exactly_once_fails_naming_the_key()
    {
        var error = Assert.Throws<ConfigurationException>(() => Load(("Batch:MinInsertIntervalMs", "500"), ("Delivery:Guarantee", "ExactlyOnce")));
        Assert.Contains("Batch:MinInsertIntervalMs", error.Message);
        Assert.Equal(TimeSpan.FromMilliseconds(500), Load(("Batch:MinInsertIntervalMs", "500")).ToBatchOptions().MinInsertInterval);
    }

    [Fact]
    public void A_codec_model_directory_that_cannot_be_loaded_fails_naming_the_key_and_the_directory()
    {
        var empty = Directory.CreateTempSubdirectory("codec-empty-");
        try
        {
            foreach (var models in new[] { "/nonexistent/codec-7", $"{empty.FullName}" })
            {
                var error = Assert.Throws<ConfigurationException>(() => Load(("Codec:Models", models)));
                Assert.Contains("Codec:Models", error.Message);
                Assert.Contains(models, error.Message);
            }
        }
        finally
        {
            empty.Delete();
        }
    }

    [Fact]
    public void Codec_models_are_a_comma_separated_list_and_the_codec_is_off_without_them()
    {
        Assert.Empty(Load().Codec.ModelDirectories);
        Assert.Null(Load().LoadCodecModels());
        Assert.DoesNotContain("codec=", Load().Describe());
        var error = Assert.Throws<ConfigurationException>(() => Load(("Codec:Models:0", "/a"), ("Codec:Models:1", "/b")));
        Assert.True(error.Message.Contains("Codec:Models"), error.Message);
    }

    [Fact]
    public void The_password_comes_from_a_file_and_never_appears_in_the_description()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "s3cret-value\n");
            var settings = Load(("ClickHouse:PasswordFile", file), ("ClickHouse:Username", "writer"));
            Assert.Equal("s3cret-value", settings.ResolvePassword());
            Assert.Equal("s3cret-value", settings.ToSinkOptions().Password);
            Assert.DoesNotContain("s3cret", settings.Describe());
            Assert.Contains("user=writer", settings.Describe());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Librdkafka_properties_pass_through_and_security_settings_reach_the_dead_letter_producer()
    {
        var settings = Load(("Kafka:Properties:fetch.min.bytes", "1024"), ("Kafka:Properties:security.protocol", "SASL_SSL"),
            ("Kafka:Properties:sasl.mechanism", "PLAIN"), ("Kafka:Properties:sasl.username", "pipeline"), ("Kafka:Properties:sasl.password", "secret"));
        var consumer = settings.ToSourceOptions().BuildConsumerConfig();
        Assert.Equal("1024", consumer.Get("fetch.min.bytes"));
        Assert.Equal("false", consumer.Get("enable.auto.commit"), ignoreCase: true);
        var producer = settings.ToDeadLetterOptions().ClientProperties;
        Assert.Equal("SASL_SSL", producer["security.protocol"]);
        Assert.False(producer.ContainsKey("fetch.min.bytes"));
    }

    [Theory]
    [InlineData("Kafka:Properties:fetch.bogus.bytes", "1", "Kafka:Properties:fetch.bogus.bytes: ")]
    [InlineData("Kafka:Properties:max.partition.fetch.bytes", "lots", "Kafka:Properties:max.partition.fetch.bytes: ")] // alias of fetch.message.max.bytes
    [InlineData("DeadLetter:Properties:linger.ms", "soon", "DeadLetter:Properties:linger.ms: ")] // alias of queue.buffering.max.ms
    [InlineData("DeadLetter:Properties:compression.type", "brotli", "DeadLetter:Properties:compression.type: ")] // alias of compression.codec
    public void A_librdkafka_property_it_refuses_fails_at_start_naming_the_key_as_written(string key, string value, string expected)
    {
        var error = Assert.Throws<ConfigurationException>(() => Load((key, value)));
        Assert.StartsWith(expected, error.Message);
    }

    [Fact]
    public void Librdkafka_refuses_an_incomplete_security_configuration_at_start_naming_the_section()
    {
        var error = Assert.Throws<ConfigurationException>(() => Load(("Kafka:Properties:security.protocol", "SASL_SSL"), ("Kafka:Properties:sasl.mechanism", "PLAIN")));
        Assert.StartsWith("Kafka:Properties: sasl.username and sasl.password must be set", error.Message);
    }

    [Fact]
    public void Environment_variables_with_the_prefix_and_command_line_arguments_override_files()
    {
        Environment.SetEnvironmentVariable("PIPELINE_Kafka__Topic", "from-env");
        try
        {
            var configuration = PipelineSettings.BuildConfiguration(["--Kafka:BootstrapServers=cli:9092", "--ClickHouse:Url=http://ch:8123"], Path.GetTempPath());
            var settings = PipelineSettings.Load(configuration);
            Assert.Equal("from-env", settings.Kafka.Topic);
            Assert.Equal("cli:9092", settings.Kafka.BootstrapServers);
        }
        finally
        {
            Environment.SetEnvironmentVariable("PIPELINE_Kafka__Topic", null);
        }
    }
}
