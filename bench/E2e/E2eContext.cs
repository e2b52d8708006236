using System.Diagnostics;
using System.Globalization;
using EventPipeline.Host;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.Stages.ClickHouse;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Bench.E2e;

/// <summary>What every contender shares: the cluster, the server, the topics and a client for DDL and counts.</summary>
internal sealed class E2eContext(E2eOptions options, MockKafkaCluster kafka, LocalClickHouseServer clickHouse, ILoggerFactory loggerFactory)
{
    public const string Database = "bench";
    public const string Topic = "events";
    public const string PeerTopic = "events_peer";

    public E2eOptions Options { get; } = options;
    public MockKafkaCluster Kafka { get; } = kafka;
    public LocalClickHouseServer ClickHouse { get; } = clickHouse;
    public ILoggerFactory LoggerFactory { get; } = loggerFactory;
    public ClickHouseHttpClient Client { get; } = new(clickHouse.HttpUrl, Database, "default", "", TimeSpan.FromMinutes(5));
    public int PeerPartitions { get; set; }

    public long Events => Options.Events;

    public int? ServerPid =>
        File.Exists(Path.Combine(ClickHouse.StateDirectory, "server.pid"))
            ? int.Parse(File.ReadAllText(Path.Combine(ClickHouse.StateDirectory, "server.pid")).Trim(), CultureInfo.InvariantCulture)
            : null;

    public static string Unique(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    /// <summary>A fresh, empty events table (the product's DDL) in the bench database.</summary>
    public async Task CreateEventsTableAsync(string table, CancellationToken ct)
    {
        await Client.QueryAsync($"DROP TABLE IF EXISTS {Database}.{table}", ct);
        await Client.QueryAsync(EventsTable.CreateStatement($"{Database}.{table}"), ct);
    }

    /// <summary>Dropped after each run so that background merges of one contender's table do not slow the next.</summary>
    public Task DropTableAsync(string table, CancellationToken ct) => Client.QueryAsync($"DROP TABLE IF EXISTS {Database}.{table}", ct);

    public async Task<long> CountAsync(string table, CancellationToken ct) =>
        long.Parse((await Client.QueryAsync($"SELECT count() FROM {Database}.{table} FORMAT TabSeparated", ct)).Trim(), CultureInfo.InvariantCulture);

    /// <summary>Polls count() every 100 ms until it reaches the events; returns the clock's time at that moment.</summary>
    /// <exception cref="TimeoutException">Not all rows became visible within the contender timeout.</exception>
    public async Task<TimeSpan> WaitForAllVisibleAsync(string table, Stopwatch clock, CancellationToken ct, Func<string>? progress = null)
    {
        long count = 0;
        while (clock.Elapsed < Options.ContenderTimeout)
        {
            count = await CountAsync(table, ct);
            if (count >= Events)
            {
                var elapsed = clock.Elapsed;
                if (count > Events)
                    throw new InvalidOperationException($"{table} holds {count} rows, more than the {Events} events: duplicates");
                return elapsed;
            }
            await Task.Delay(100, ct);
        }
        throw new TimeoutException($"{table}: {count} of {Events} rows visible after {Options.ContenderTimeout.TotalSeconds} s {progress?.Invoke()}");
    }
}

/// <summary>One measurement: how long the contender took to move all events, and what it says about it.</summary>
/// <param name="WorkerCpuSeconds">CPU (user + system) this process used over the same interval, where the contender runs in it.</param>
/// <param name="ServerCpuSeconds">CPU the ClickHouse server used over the same interval, where measured.</param>
internal sealed record ContenderRun(double Seconds, string? Note = null, double? WorkerCpuSeconds = null, double? ServerCpuSeconds = null);

internal interface IContender
{
    /// <summary>Short name used in the JSON (consume_ceiling, pipeline_b50000...).</summary>
    string Name { get; }

    /// <summary>What exactly is measured, for the table and the JSON.</summary>
    string Description { get; }

    Task<ContenderRun> RunAsync(E2eContext context, CancellationToken ct);
}
