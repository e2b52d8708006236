using EventPipeline.DevTools.Events;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.Host.Commands;
using EventPipeline.Stages.Events;
using EventPipeline.Stages.Partitioning;
using EventPipeline.Tests.Infrastructure;

namespace EventPipeline.Tests.OperatorTools;

/// <summary>dev-kafka and generate say loudly that the embedded broker keeps only ~5 MiB / 100,000 messages per partition.</summary>
[Collection(KafkaCollection.Name)]
public sealed class EmbeddedBrokerLimitsTests(KafkaFixture kafka)
{
    [Fact]
    public void Round_robin_load_is_the_exact_split()
    {
        var load = EmbeddedBrokerLimits.Estimate(1_000_003, 10, roundRobin: true, new EventGeneratorOptions { Seed = 1 });

        Assert.Equal([100_001, 100_001, 100_001, 100_000, 100_000, 100_000, 100_000, 100_000, 100_000, 100_000], load.Messages);
        Assert.True(load.ExceedsLimits);
        Assert.All(EmbeddedBrokerLimits.Estimate(1_000_000, 10, roundRobin: true, new EventGeneratorOptions { Seed = 1 }).Messages, m => Assert.Equal(100_000, m));
    }

    [Fact]
    public void Keyed_load_follows_the_keys_partitions()
    {
        // Every event of one app lands on one partition, as librdkafka's consistent_random partitioner puts it.
        var options = new EventGeneratorOptions { Seed = 1, AppCount = 1 };
        var sample = new EventGenerator(options).Next();
        var partition = new HashPartitioner(16).Choose(System.Text.Encoding.UTF8.GetBytes(sample.Key!));

        var load = EmbeddedBrokerLimits.Estimate(50_000, 16, roundRobin: false, options, sampleSize: 1000);

        Assert.Equal(50_000, load.Messages[partition]);
        Assert.Equal(50_000, load.Messages.Sum());
        Assert.Equal(partition, load.HottestPartition);
        var warning = EmbeddedBrokerLimits.LoadWarning(load, "ev", roundRobin: false);
        Assert.Equal(load.Bytes[partition] > 5 * 1024 * 1024, warning is not null);
    }

    [Fact]
    public void The_warnings_name_the_partitions_and_the_unreadable_count()
    {
        var load = new EmbeddedBrokerLimits.PartitionLoad([150_000, 20_000], [4_000_000, 600_000]);

        Assert.Equal(
            "WARNING: 1 of 2 partitions of ev are expected to exceed ~100,000 messages or ~5 MiB (partition 0: ~150,000 messages, ~3.8 MiB, keyed by app_id). " +
            "If this is the embedded broker (dev-kafka), it trims each partition to ~5 MiB / 100,000 messages and a consumer started later misses the rest: " +
            "use --round-robin, --partitioner d-choices, more partitions or fewer events.",
            EmbeddedBrokerLimits.LoadWarning(load, "ev", roundRobin: false));
        Assert.Null(EmbeddedBrokerLimits.LoadWarning(new EmbeddedBrokerLimits.PartitionLoad([100_000], [5 * 1024 * 1024]), "ev", roundRobin: true));
        Assert.Equal(
            "WARNING: 60,500 messages of ev are no longer readable: 2 of 3 partitions start above offset 0 (partition 0 low watermark 60,000, partition 2 low watermark 500). " +
            "The embedded broker (dev-kafka) trims each partition to ~5 MiB / 100,000 messages; on a real cluster, retention did this.",
            EmbeddedBrokerLimits.TrimWarning("ev", [(0, 60_000, 160_000), (1, 0, 90_000), (2, 500, 100_500)]));
        Assert.Null(EmbeddedBrokerLimits.TrimWarning("ev", [(0, 0, 100_000)]));
    }

    [Fact]
    public async Task Generate_warns_before_an_overfull_partition_and_reports_what_was_trimmed()
    {
        var topic = kafka.CreateTopic(partitions: 1);

        var result = await PipelineCli.RunAsync("generate", "--bootstrap-servers", kafka.BootstrapServers, "--topic", topic, "--events", "130000", "--round-robin");

        Assert.Equal(0, result.ExitCode);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith($"WARNING: 1 of 1 partitions of {topic} are expected to exceed ~100,000 messages or ~5 MiB (partition 0: ~130,000 messages, ", lines[0], StringComparison.Ordinal);
        using var consumer = new Confluent.Kafka.ConsumerBuilder<byte[], byte[]>(new Confluent.Kafka.ConsumerConfig { BootstrapServers = kafka.BootstrapServers, GroupId = "w" }).Build();
        var watermarks = consumer.QueryWatermarkOffsets(new Confluent.Kafka.TopicPartition(topic, 0), TimeSpan.FromSeconds(10));
        Assert.Equal(130_000, watermarks.High.Value);
        Assert.True(watermarks.Low.Value >= 30_000, $"low watermark {watermarks.Low.Value}");
        Assert.Equal(
            $"WARNING: {watermarks.Low.Value:N0} messages of {topic} are no longer readable: 1 of 1 partitions start above offset 0 (partition 0 low watermark {watermarks.Low.Value:N0}). " +
            "The embedded broker (dev-kafka) trims each partition to ~5 MiB / 100,000 messages; on a real cluster, retention did this.",
            lines[^1]);
    }

    [Fact]
    public async Task Dev_kafka_warns_on_stderr_and_keeps_the_bootstrap_line_first_on_stdout()
    {
        var startInfo = new System.Diagnostics.ProcessStartInfo(PipelineProcess.DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList = { PipelineProcess.PipelineDll, "dev-kafka", "--brokers", "1", "--partitions", "1", "--topics", "t" },
        };
        using var process = System.Diagnostics.Process.Start(startInfo)!;
        try
        {
            var stdout = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            var stderr = await process.StandardError.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));

            Assert.StartsWith("bootstrap.servers=127.0.0.1:", stdout, StringComparison.Ordinal);
            Assert.Equal(EmbeddedBrokerLimits.DevKafkaWarning, stderr);
            Assert.Contains("~5 MiB / 100,000 messages per partition", stderr, StringComparison.Ordinal);
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }
}
