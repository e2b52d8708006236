using System.Globalization;
using System.Text;
using System.Text.Json;
using EventPipeline.Host;
using EventPipeline.Stages;
using EventPipeline.Stages.Events;
using EventPipeline.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Tests.Integration;

/// <summary>
/// Events written by an independent producer (kcat, on its own librdkafka) come out of ClickHouse field for
/// field as the generator made them, whatever form the JSON timestamp takes.
/// </summary>
[Collection(KafkaAndClickHouseCollection.Name)]
public sealed class KcatProducerTests(KafkaFixture kafka, ClickHouseFixture clickHouse, ITestOutputHelper output)
{
    private const int Partitions = 16;
    private const int EventCount = 5_000;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    // Every form the decoder accepts, ISO 8601 with offsets that are whole, half and three-quarter hours.
    private static readonly (JsonTimestampFormat Format, int OffsetMinutes)[] TimestampForms =
    [
        (JsonTimestampFormat.EpochMillis, 0), (JsonTimestampFormat.EpochMillisString, 0), (JsonTimestampFormat.Iso8601, 0),
        (JsonTimestampFormat.Iso8601, 330), (JsonTimestampFormat.Iso8601, 345), (JsonTimestampFormat.Iso8601, -570),
    ];

    [Fact]
    public async Task Rows_equal_the_events_kcat_produced()
    {
        var topic = kafka.CreateTopic(Partitions);
        var table = await clickHouse.CreateEventsTableAsync();
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = 3, MalformedFraction = 0, ProtobufFraction = 0 });
        var events = Enumerable.Range(0, EventCount).Select(_ => generator.NextEvent()).ToList();
        var lines = events.Select((evt, i) => Encoding.UTF8.GetString(
            EventJsonWriter.Write(evt, TimestampForms[i % TimestampForms.Length].Format, TimestampForms[i % TimestampForms.Length].OffsetMinutes)));

        var produce = await Kcat.RunAsync(
            ["-P", "-b", kafka.BootstrapServers, "-t", topic, "-X", "acks=all"], stdin: string.Join('\n', lines) + "\n", Timeout);
        Assert.True(produce.ExitCode == 0, $"kcat failed: {produce.Stderr}");
        await RunWorkerUntilAsync(topic, table);

        var rows = await ReadRowsAsync(table);
        Assert.Equal(EventCount, rows.Count);
        Assert.Equal(EventCount, rows.Select(r => r.EventId).Distinct().Count());
        var byId = rows.ToDictionary(r => r.EventId);
        foreach (var evt in events)
        {
            Assert.True(byId.TryGetValue(evt.EventId.ToString("D"), out var row), $"event {evt.EventId} is missing");
            Assert.Equal(Expected(evt), row);
        }
    }

    private async Task RunWorkerUntilAsync(string topic, string table)
    {
        var settings = EndToEnd.LoadSettings(
            EndToEnd.WorkerArgs(kafka.BootstrapServers, topic, $"group-{Guid.NewGuid():N}", clickHouse.Server.HttpUrl, table));
        using var loggers = TestLogger.CreateFactory(output, LogLevel.Information);
        using var stop = new CancellationTokenSource();
        var worker = new PipelineWorker(settings, new PipelineMetrics(Prometheus.Metrics.NewCustomRegistry()), loggers);
        var run = worker.RunAsync(stop.Token);
        await EndToEnd.WaitUntilAsync(
            async () => await clickHouse.Server.CountAsync(table) >= EventCount || run.IsCompleted, Timeout, $"{EventCount} rows");
        await stop.CancelAsync();
        await run.WaitAsync(Timeout);
        Assert.Equal(0, worker.DeadLettered);
    }

    private static Row Expected(AnalyticsEvent evt) => new(
        evt.EventId.ToString("D"), evt.AppId, evt.UserId, evt.EventName,
        (long)Math.Floor(evt.EventTimestampMs / 1000.0),
        DateTimeOffset.FromUnixTimeMilliseconds(evt.EventTimestampMs).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        evt.DeviceId, evt.Platform, evt.OsVersion, evt.AppVersion, evt.Country, evt.Revenue, evt.PropertiesJson ?? "");

    private async Task<List<Row>> ReadRowsAsync(string table)
    {
        var body = await clickHouse.Server.QueryAsync(
            "SELECT toString(event_id) AS id, app_id, user_id, event_name, toUnixTimestamp(event_timestamp) AS ts, toString(event_date) AS day, " +
            $"device_id, toString(platform) AS platform, os_version, app_version, country, revenue, properties FROM {table} FORMAT JSONEachRow");
        var rows = new List<Row>();
        foreach (var line in body.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var json = JsonDocument.Parse(line);
            var r = json.RootElement;
            rows.Add(new Row(
                r.GetProperty("id").GetString()!, r.GetProperty("app_id").GetString()!, r.GetProperty("user_id").GetString()!,
                r.GetProperty("event_name").GetString()!, r.GetProperty("ts").GetInt64(), r.GetProperty("day").GetString()!,
                r.GetProperty("device_id").GetString()!, r.GetProperty("platform").GetString()!, r.GetProperty("os_version").GetString()!,
                r.GetProperty("app_version").GetString()!, r.GetProperty("country").GetString()!,
                r.GetProperty("revenue").ValueKind == JsonValueKind.Null ? null : r.GetProperty("revenue").GetDouble(),
                r.GetProperty("properties").GetString()!));
        }

        return rows;
    }

    private sealed record Row(
        string EventId, string AppId, string UserId, string EventName, long UnixSeconds, string EventDate, string DeviceId,
        string Platform, string OsVersion, string AppVersion, string Country, double? Revenue, string Properties);
}
