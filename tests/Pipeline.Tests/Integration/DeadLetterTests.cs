using System.Text;
using EventPipeline.Stages;
using EventPipeline.Stages.Events;
using EventPipeline.Tests.Infrastructure;
using Xunit.Abstractions;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Tests.Integration;

[Collection(KafkaAndClickHouseCollection.Name)]
public sealed class DeadLetterTests(KafkaFixture kafka, ClickHouseFixture clickHouse, ITestOutputHelper output)
{
    [Fact]
    public async Task One_percent_malformed_go_to_the_dead_letter_topic_with_reasons_and_every_good_row_is_inserted()
    {
        const int count = 30_000;
        var topic = kafka.CreateTopic(partitions: 16);
        kafka.Cluster.CreateTopic(topic + ".dlq", 4);
        var table = await clickHouse.CreateEventsTableAsync();
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = 11, MalformedFraction = 0.01, ProtobufFraction = 0.1 });
        var messages = Enumerable.Range(0, count).Select(_ => generator.Next()).ToList();
        var malformed = messages.Where(m => m.IsMalformed).Select(m => Convert.ToHexString(m.Payload)).ToHashSet();
        var good = messages.Where(m => !m.IsMalformed).Select(m => m.EventId).ToHashSet();
        Assert.InRange(malformed.Count, 200, 400);
        kafka.ProduceAll(topic, messages.Select(m => m.Payload));

        await using var worker = RunningWorker.Start(kafka.BootstrapServers, topic, clickHouse.Server.HttpUrl, table, output);
        await RunningWorker.WaitUntilAsync(async () => worker.Worker.DeadLettered >= malformed.Count && await clickHouse.Server.CountAsync(table) >= good.Count,
            TimeSpan.FromMinutes(2), () => $"inserted {worker.Worker.Inserted}/{good.Count}, dead-lettered {worker.Worker.DeadLettered}/{malformed.Count}");
        await worker.StopAsync();

        var ids = (await clickHouse.Server.QueryAsync($"SELECT toString(event_id) FROM {table} FORMAT TabSeparated"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Guid.Parse).ToList();
        Assert.Equal(good.Count, ids.Count);
        Assert.True(good.SetEquals(ids));

        var deadLetters = await kafka.ReadAllAsync(topic + ".dlq", TimeSpan.FromSeconds(30));
        Assert.Equal(malformed.Count, deadLetters.Count);
        var sourceOffsets = new HashSet<(int, long)>();
        foreach (var letter in deadLetters)
        {
            // The original bytes, untouched, and headers that say who rejected it, why and where it came from.
            Assert.Contains(Convert.ToHexString(letter.Message.Value), malformed);
            string Header(string key) => Encoding.UTF8.GetString(letter.Message.Headers.GetLastBytes(key));
            Assert.Equal(DecodeStage.StageName, Header(DeadLetterStage.StageHeader));
            Assert.False(string.IsNullOrWhiteSpace(Header(DeadLetterStage.ReasonHeader)));
            Assert.Contains(Header(DeadLetterStage.KindHeader), new[] { "oversize", "malformed", "missing_field", "wrong_type", "invalid_value", "unsupported_format" });
            Assert.Equal(topic, Header(DeadLetterStage.TopicHeader));
            sourceOffsets.Add((int.Parse(Header(DeadLetterStage.PartitionHeader)), long.Parse(Header(DeadLetterStage.OffsetHeader))));
        }
        Assert.Equal(malformed.Count, sourceOffsets.Count);
        output.WriteLine(string.Join("\n", deadLetters.Take(5).Select(l => Encoding.UTF8.GetString(l.Message.Headers.GetLastBytes(DeadLetterStage.ReasonHeader)))));
    }

    [Fact]
    public async Task A_value_that_does_not_fit_its_column_is_dead_lettered_by_the_encoder_not_the_whole_batch()
    {
        var topic = kafka.CreateTopic(partitions: 2);
        kafka.Cluster.CreateTopic(topic + ".dlq", 1);
        // country is FixedString(2) in the events table; make a table where it is an Enum that lacks most codes.
        var table = $"narrow_{Guid.NewGuid():N}";
        await clickHouse.Server.QueryAsync($"CREATE TABLE {table} (event_id UUID, country Enum8('DE' = 1, 'FR' = 2)) ENGINE = MergeTree ORDER BY event_id");
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = 5 });
        var events = Enumerable.Range(0, 2000).Select(_ => generator.NextEvent()).ToList();
        kafka.ProduceAll(topic, events.Select(e => EventJsonWriter.Write(e)));
        var fitting = events.Count(e => e.Country is "DE" or "FR");

        await using var worker = RunningWorker.Start(kafka.BootstrapServers, topic, clickHouse.Server.HttpUrl, table, output);
        await RunningWorker.WaitUntilAsync(() => Task.FromResult(worker.Worker.Inserted + worker.Worker.DeadLettered >= events.Count),
            TimeSpan.FromMinutes(1), () => $"inserted {worker.Worker.Inserted}, dead-lettered {worker.Worker.DeadLettered}");
        await worker.StopAsync();

        Assert.Equal(fitting, await clickHouse.Server.CountAsync(table));
        var deadLetters = await kafka.ReadAllAsync(topic + ".dlq", TimeSpan.FromSeconds(30));
        Assert.Equal(events.Count - fitting, deadLetters.Count);
        Assert.All(deadLetters, letter =>
        {
            Assert.Equal("encode", Encoding.UTF8.GetString(letter.Message.Headers.GetLastBytes(DeadLetterStage.StageHeader)));
            Assert.Contains("country", Encoding.UTF8.GetString(letter.Message.Headers.GetLastBytes(DeadLetterStage.ReasonHeader)));
        });
    }
}
