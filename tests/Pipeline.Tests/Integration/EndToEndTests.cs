using EventPipeline.Stages.Events;
using EventPipeline.Tests.Infrastructure;
using Xunit.Abstractions;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Tests.Integration;

[Collection(KafkaAndClickHouseCollection.Name)]
public sealed class EndToEndTests(KafkaFixture kafka, ClickHouseFixture clickHouse, ITestOutputHelper output)
{
    [Fact]
    public async Task Two_hundred_thousand_events_arrive_in_ClickHouse_exactly_once_with_every_field_intact()
    {
        const int count = 200_000;
        var topic = kafka.CreateTopic(partitions: 64);
        var table = await clickHouse.CreateEventsTableAsync();
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = 7, ProtobufFraction = 0.2 });
        var decoder = new EventDecoder(new EventDecoderOptions());
        var expected = new Dictionary<Guid, AnalyticsEvent>(count);
        var payloads = new List<byte[]>(count);
        for (var i = 0; i < count; i++)
        {
            var message = generator.Next();
            payloads.Add(message.Payload);
            var decoded = decoder.Decode(message.Payload);
            Assert.True(decoded.IsSuccess, decoded.ToString());
            expected.Add(decoded.Event.EventId, decoded.Event);
        }
        kafka.ProduceAll(topic, payloads);

        await using var worker = RunningWorker.Start(kafka.BootstrapServers, topic, clickHouse.Server.HttpUrl, table, output,
            new Dictionary<string, string?> { ["Batch:Size"] = "50000" });
        await RunningWorker.WaitUntilAsync(async () => await clickHouse.Server.CountAsync(table) >= count, TimeSpan.FromMinutes(3),
            () => $"inserted {worker.Worker.Inserted} of {count}");
        await worker.StopAsync();

        Assert.Equal(count, await clickHouse.Server.CountAsync(table));
        Assert.Equal(0, worker.Worker.DeadLettered);
        await EndToEnd.AssertRowsMatchAsync(clickHouse.Server, table, expected, partitions: 64);
        var latency = worker.Worker.EndToEndLatency.Cumulative();
        output.WriteLine($"latency p50/p99 ms: {latency.P50Ms}/{latency.P99Ms}");
    }
}
