using System.Diagnostics;
using System.Globalization;
using EventPipeline.Host.Configuration;
using EventPipeline.Host.DevInfra;
using EventPipeline.Stages.Events;

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

    /// <summary>Rows, distinct event ids and their difference (the duplicates) of a table.</summary>
    public static async Task<(long Rows, long Distinct)> CountRowsAsync(LocalClickHouseServer server, string table)
    {
        var line = (await server.QueryAsync($"SELECT count(), uniqExact(event_id) FROM {table} FORMAT TabSeparated")).Trim().Split('\t');
        return (long.Parse(line[0], CultureInfo.InvariantCulture), long.Parse(line[1], CultureInfo.InvariantCulture));
    }
}
