using System.Diagnostics;
using System.Globalization;
using EventPipeline.Host.Configuration;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.Stages.Events;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Tests.Integration;

/// <summary>What the end-to-end scenarios share: worker arguments, generated events and polling.</summary>
public static class EndToEnd
{
    /// <summary>
    /// Worker configuration as command-line arguments, usable for the child process and, through
    /// <see cref="LoadSettings"/>, for an in-process worker. A low session timeout (with heartbeats well inside it)
    /// makes the mock evict a killed member within about a second instead of 45.
    /// </summary>
    public static List<string> WorkerArgs(string bootstrapServers, string topic, string groupId, Uri clickHouseUrl, string table,
        params (string Key, object Value)[] overrides)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Kafka:BootstrapServers"] = bootstrapServers,
            ["Kafka:Topic"] = topic,
            ["Kafka:GroupId"] = groupId,
            ["Kafka:CommitIntervalMs"] = "200",
            ["Kafka:Properties:session.timeout.ms"] = "1000",
            ["Kafka:Properties:heartbeat.interval.ms"] = "250",
            ["ClickHouse:Url"] = clickHouseUrl.ToString(),
            ["ClickHouse:Table"] = table,
            ["Batch:Size"] = "2000",
            ["Batch:MaxLatencyMs"] = "200",
            ["Metrics:Port"] = "0",
            ["Pipeline:QueueCapacity"] = "4000",
            ["Pipeline:DrainTimeoutSeconds"] = "20",
        };
        foreach (var (key, value) in overrides)
        {
            values[key] = Convert.ToString(value, CultureInfo.InvariantCulture)!;
        }

        return [.. values.Select(pair => $"--{pair.Key}={pair.Value}")];
    }

    public static PipelineSettings LoadSettings(IEnumerable<string> args) =>
        PipelineSettings.Load(PipelineSettings.BuildConfiguration(args));

    /// <summary>Generates <paramref name="count"/> messages, the same ones for the same seed.</summary>
    public static List<GeneratedMessage> Generate(int count, int seed, double malformedFraction = 0) =>
        Generate(count, new EventGeneratorOptions { Seed = seed, MalformedFraction = malformedFraction });

    public static List<GeneratedMessage> Generate(int count, EventGeneratorOptions options)
    {
        var generator = new EventGenerator(options);
        return [.. Enumerable.Range(0, count).Select(_ => generator.Next())];
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; throws with <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, TimeSpan? interval = null)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"Waited {timeout.TotalSeconds} s for {what}");
            }

            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(100));
        }
    }

    public static Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what) =>
        WaitUntilAsync(() => Task.FromResult(condition()), timeout, what);

    /// <summary>
    /// Reads every row of an events table and checks that each is one of <paramref name="expected"/>, field by field,
    /// and that every expected event is there exactly once.
    /// </summary>
    /// <param name="extraColumns">More columns to read (", a, b"); their values follow the 14 checked ones in each returned row.</param>
    /// <returns>Each row's event and its fields as ClickHouse prints them (TSV, unescaped).</returns>
    public static async Task<List<(AnalyticsEvent Event, string[] Fields)>> AssertRowsMatchAsync(LocalClickHouseServer server, string table,
        IReadOnlyDictionary<Guid, AnalyticsEvent> expected, int partitions, string extraColumns = "")
    {
        var tsv = await server.QueryAsync(
            $"SELECT event_id, app_id, user_id, event_name, toUnixTimestamp(event_timestamp), device_id, toString(platform), os_version, " +
            $"app_version, country, revenue, properties, event_date, kafka_partition{extraColumns} FROM {table} FORMAT TabSeparated");
        var rows = new List<(AnalyticsEvent, string[])>(expected.Count);
        foreach (var line in tsv.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split('\t').Select(UnescapeTsv).ToArray();
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
            Assert.Equal(e.PropertiesJson ?? "", f[11]);
            Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(e.EventTimestampMs).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), f[12]);
            Assert.InRange(int.Parse(f[13], CultureInfo.InvariantCulture), 0, partitions - 1);
            rows.Add((e, f));
        }
        Assert.Equal(expected.Count, rows.Count);
        Assert.Equal(expected.Count, rows.Select(r => r.Item1.EventId).Distinct().Count());
        return rows;
    }

    private static string UnescapeTsv(string value) =>
        value.Replace("\\\\", "\u0001").Replace("\\'", "'").Replace("\\t", "\t").Replace("\\n", "\n").Replace("\u0001", "\\");

    /// <summary>Rows, distinct event ids and their difference (the duplicates) of a table.</summary>
    public static Task<(long Rows, long Distinct)> CountRowsAsync(LocalClickHouseServer server, string table) => server.CountRowsAndEventsAsync(table);
}
