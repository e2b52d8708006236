using System.Globalization;
using EventPipeline.Stages.Events;
using EventPipeline.Tests.Infrastructure;
using Xunit.Abstractions;

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
        var tsv = await clickHouse.Server.QueryAsync(
            $"SELECT event_id, app_id, user_id, event_name, toUnixTimestamp(event_timestamp), device_id, toString(platform), os_version, " +
            $"app_version, country, revenue, properties, event_date, kafka_partition FROM {table} FORMAT TabSeparated");
        var rows = 0;
        foreach (var line in tsv.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split('\t');
            var e = expected[Guid.Parse(f[0])];
            Assert.Equal(e.AppId, f[1]);
            Assert.Equal(e.UserId, f[2]);
            Assert.Equal(e.EventName, f[3]);
            Assert.Equal(e.EventTimestampMs / 1000, long.Parse(f[4], CultureInfo.InvariantCulture));
            Assert.Equal(e.DeviceId, f[5]);
            Assert.Equal(e.Platform, f[6]);
            Assert.Equal(e.OsVersion, f[7]);
            Assert.Equal(e.AppVersion, f[8]);
            Assert.Equal(e.Country, f[9]);
            Assert.Equal(e.Revenue is { } r ? r.ToString("R", CultureInfo.InvariantCulture) : "\\N", f[10]);
            Assert.Equal(e.PropertiesJson ?? "", UnescapeTsv(f[11]));
            Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(e.EventTimestampMs).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), f[12]);
            Assert.InRange(int.Parse(f[13], CultureInfo.InvariantCulture), 0, 63);
            rows++;
        }
        Assert.Equal(count, rows);
        output.WriteLine($"latency p50/p99 ms: {string.Join("/", worker.Latency.Percentiles(50, 99))}");
    }

    private static string UnescapeTsv(string value) =>
        value.Replace("\\\\", "\u0001").Replace("\\'", "'").Replace("\\t", "\t").Replace("\\n", "\n").Replace("\u0001", "\\");
}
