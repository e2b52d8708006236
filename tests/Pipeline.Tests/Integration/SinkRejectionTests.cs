using System.Text;
using EventPipeline.Stages;
using EventPipeline.Stages.Events;
using EventPipeline.Tests.Infrastructure;
using Xunit.Abstractions;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Tests.Integration;

[Collection(KafkaAndClickHouseCollection.Name)]
public sealed class SinkRejectionTests(KafkaFixture kafka, ClickHouseFixture clickHouse, ITestOutputHelper output)
{
    [Fact]
    public async Task Rows_the_server_rejects_are_isolated_by_splitting_and_dead_lettered_while_the_rest_of_the_batch_is_inserted()
    {
        var topic = kafka.CreateTopic(partitions: 2);
        kafka.Cluster.CreateTopic(topic + ".dlq", 1);
        var table = $"guarded_{Guid.NewGuid():N}";
        // A server-side rule the pipeline knows nothing about: the insert of any block holding a poisoned row fails.
        await clickHouse.Server.QueryAsync(
            $"CREATE TABLE {table} (event_id UUID, user_id String, guard UInt8 MATERIALIZED throwIf(user_id = 'poison')) ENGINE = MergeTree ORDER BY event_id");
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = 9 });
        var events = Enumerable.Range(0, 3000).Select(_ => generator.NextEvent()).ToList();
        var poisoned = new[] { 5, 777, 778, 2999 }.Select(i => events[i]).ToList();
        foreach (var e in poisoned)
            e.UserId = "poison";
        kafka.ProduceAll(topic, events.Select(e => EventJsonWriter.Write(e)));

        await using var worker = RunningWorker.Start(kafka.BootstrapServers, topic, clickHouse.Server.HttpUrl, table, output,
            new Dictionary<string, string?> { ["Batch:Size"] = "3000", ["Batch:MaxLatencyMs"] = "2000" });
        await RunningWorker.WaitUntilAsync(() => Task.FromResult(worker.Worker.Inserted + worker.Worker.DeadLettered >= events.Count),
            TimeSpan.FromMinutes(1), () => $"inserted {worker.Worker.Inserted}, dead-lettered {worker.Worker.DeadLettered}");
        await worker.StopAsync();

        Assert.Equal(events.Count - poisoned.Count, await clickHouse.Server.CountAsync(table));
        Assert.Equal("0", (await clickHouse.Server.QueryAsync($"SELECT count() FROM {table} WHERE user_id = 'poison' FORMAT TabSeparated")).Trim());
        var deadLetters = await kafka.ReadAllAsync(topic + ".dlq", TimeSpan.FromSeconds(30));
        Assert.Equal(poisoned.Select(e => e.EventId).Order(), deadLetters.Select(l => new EventDecoder(new EventDecoderOptions()).Decode(l.Message.Value).Event!.EventId).Order());
        Assert.All(deadLetters, letter =>
        {
            Assert.Equal(ClickHouseSinkStage.StageName, Encoding.UTF8.GetString(letter.Message.Headers.GetLastBytes(DeadLetterStage.StageHeader)));
            Assert.Contains("code 395", Encoding.UTF8.GetString(letter.Message.Headers.GetLastBytes(DeadLetterStage.ReasonHeader)));
        });
    }
}
