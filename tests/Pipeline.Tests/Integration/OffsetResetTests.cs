using Confluent.Kafka;
using EventPipeline.Tests.Infrastructure;
using Xunit.Abstractions;

namespace EventPipeline.Tests.Integration;

/// <summary>
/// Messages that left Kafka before the group read them cannot be saved, but they must not vanish silently:
/// the reset of the consumer position is logged as an error and counted.
/// </summary>
[Collection(KafkaAndClickHouseCollection.Name)]
public sealed class OffsetResetTests(KafkaFixture kafka, ClickHouseFixture clickHouse, ITestOutputHelper output)
{
    [Fact]
    public async Task A_position_the_broker_no_longer_has_is_counted_and_logged()
    {
        var topic = kafka.CreateTopic(partitions: 1);
        var table = await clickHouse.CreateEventsTableAsync();
        var group = $"group-{Guid.NewGuid():N}";
        // The group has read nothing yet but has a position: offset 0.
        using (var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = kafka.BootstrapServers, GroupId = group }).Build())
            consumer.Commit([new TopicPartitionOffset(topic, 0, 0)]);
        // The embedded broker keeps about 5 MiB per partition: 20k events (~7 MB) push the first ones out.
        kafka.ProduceAll(topic, EndToEnd.Generate(20_000, seed: 8).Select(m => m.Payload));
        using (var probe = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = kafka.BootstrapServers, GroupId = "probe" }).Build())
        {
            var low = probe.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10)).Low.Value;
            output.WriteLine($"log start offset {low}");
            Assert.True(low > 0, "the broker kept everything: the test cannot provoke a reset");
        }

        await using var worker = RunningWorker.Start(kafka.BootstrapServers, topic, clickHouse.Server.HttpUrl, table, output,
            new Dictionary<string, string?> { ["Kafka:GroupId"] = group });
        await RunningWorker.WaitUntilAsync(() => Task.FromResult(worker.Metrics.OffsetResets.Value >= 1), TimeSpan.FromSeconds(60),
            () => "no offset reset counted");
        await worker.StopAsync();
    }
}
