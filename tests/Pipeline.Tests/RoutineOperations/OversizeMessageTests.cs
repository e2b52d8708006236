using System.Text;
using EventPipeline.Stages;
using EventPipeline.Tests.Infrastructure;
using EventPipeline.Tests.Integration;
using Xunit.Abstractions;

namespace EventPipeline.Tests.RoutineOperations;

/// <summary>
/// A message larger than Decode:MaxMessageBytes is refused by the decoder and must still reach the dead-letter topic:
/// whole when the dead-letter producer can carry it, cut short with a header saying so when it cannot. It must never
/// wedge its partition (the messages after it are inserted and every offset is committed).
/// </summary>
[Collection(KafkaAndClickHouseCollection.Name)]
public sealed class OversizeMessageTests(KafkaFixture kafka, ClickHouseFixture clickHouse, ITestOutputHelper output)
{
    [Fact]
    public async Task Messages_over_every_limit_are_dead_lettered_whole_or_truncated_and_the_partition_goes_on()
    {
        var topic = kafka.CreateTopic(partitions: 1);
        kafka.Cluster.CreateTopic(topic + ".dlq", 1);
        var table = await clickHouse.CreateEventsTableAsync();
        var before = Guid.NewGuid();
        var after = Guid.NewGuid();
        var large = new string('x', 1_100_000); // over Decode:MaxMessageBytes (1 MiB), within the dead-letter producer's limit
        var huge = new string('y', 2_000_000); // over both
        // kcat, an independent client, writes them as an operator's producer would (librdkafka's default limit is 1 MB).
        var produced = await Kcat.RunAsync(["-P", "-b", kafka.BootstrapServers, "-t", topic, "-p", "0", "-X", "message.max.bytes=30000000"],
            stdin: $"{Encoding.UTF8.GetString(Events.Json(before))}\n{large}\n{huge}\n{Encoding.UTF8.GetString(Events.Json(after))}\n");
        Assert.Equal(0, produced.ExitCode);

        await using var worker = RunningWorker.Start(kafka.BootstrapServers, topic, clickHouse.Server.HttpUrl, table, output,
            new Dictionary<string, string?> { ["Kafka:CommitIntervalMs"] = "200" });
        await RunningWorker.WaitUntilAsync(() => Task.FromResult(worker.Worker.Inserted == 2 && worker.Worker.DeadLettered == 2),
            TimeSpan.FromSeconds(60), () => $"inserted {worker.Worker.Inserted}, dead-lettered {worker.Worker.DeadLettered}");
        Assert.True(worker.Worker.IsHealthy);
        await worker.StopAsync();

        Assert.Equal($"{before}\n{after}\n",
            await clickHouse.Server.QueryAsync($"SELECT toString(event_id) FROM {table} ORDER BY kafka_offset FORMAT TabSeparated"));
        var letters = await kafka.ReadAllAsync(topic + ".dlq", TimeSpan.FromSeconds(30));
        Assert.Equal(2, letters.Count);
        var whole = letters.Single(l => l.Message.Value.Length == large.Length);
        Assert.Equal(Encoding.UTF8.GetBytes(large), whole.Message.Value);
        Assert.Equal("oversize", Header(whole, DeadLetterStage.KindHeader));
        Assert.False(whole.Message.Headers.TryGetLastBytes(DeadLetterStage.TruncatedHeader, out _));
        var cut = letters.Single(l => l != whole);
        Assert.Equal("2000000", Header(cut, DeadLetterStage.TruncatedHeader));
        Assert.Equal("2", Header(cut, DeadLetterStage.OffsetHeader));
        Assert.Equal(1_048_576, cut.Message.Value.Length);
        Assert.Equal(Encoding.UTF8.GetBytes(huge)[..1_048_576], cut.Message.Value);

        // Every offset is committed: a second worker of the group finds nothing to do.
        Assert.Equal(4, Assert.Single(await CommittedOffsets.ReadAsync(kafka.BootstrapServers, topic, $"group-{topic}")).Offset.Value);
    }

    private static string Header(Confluent.Kafka.ConsumeResult<byte[]?, byte[]> letter, string name) =>
        Encoding.UTF8.GetString(letter.Message.Headers.GetLastBytes(name));
}
