using EventPipeline.Host;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.Stages.ClickHouse;
using Xunit;

namespace EventPipeline.Tests.Infrastructure;

/// <summary>
/// A private ZooKeeper and one ClickHouse 18.16 configured with it, so that ReplicatedMergeTree tables (and their
/// insert deduplication) work. Both keep their state in one temp folder, deleted afterwards.
/// </summary>
public sealed class ReplicatedClickHouseFixture : IAsyncLifetime
{
    private readonly string _stateDirectory = Path.Combine(Path.GetTempPath(), $"pipeline-tests-replicated-{Guid.NewGuid():N}");
    private LocalZooKeeper? _zooKeeper;
    private LocalClickHouseServer? _server;

    public LocalZooKeeper ZooKeeper => _zooKeeper ?? throw new InvalidOperationException("The fixture has not started yet.");

    public LocalClickHouseServer Server => _server ?? throw new InvalidOperationException("The fixture has not started yet.");

    /// <summary>The ReplicatedMergeTree engine clause for a table; its ZooKeeper path is unique per table name.</summary>
    public static string ReplicatedEngine(string table) => $"ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{table}', '{{replica}}')";

    /// <summary>
    /// Creates the production events schema on ReplicatedMergeTree, by default under a fresh unique name, and
    /// returns its name. <paramref name="settings"/> (such as <c>replicated_deduplication_window = 1000</c>) go
    /// into a SETTINGS clause, which must follow ORDER BY.
    /// </summary>
    public async Task<string> CreateReplicatedEventsTableAsync(string? name = null, string? settings = null)
    {
        name ??= $"events_{Guid.NewGuid():N}";
        // 18.16 remembers only the last 100 block hashes by default: far too few for replays of many small
        // per-partition batches (the worker warns below 100 per Kafka partition).
        const string Window = "replicated_deduplication_window = 10000";
        settings = settings is null ? Window : settings.Contains("replicated_deduplication_window", StringComparison.Ordinal) ? settings : $"{Window}, {settings}";
        var ddl = $"{EventsTable.CreateStatement(name, ReplicatedEngine(name))}{Environment.NewLine}SETTINGS {settings}";

        await Server.QueryAsync(ddl);
        return name;
    }

    /// <summary>A client that inserts as the pipeline does: RowBinary bodies over HTTP, as the writer user.</summary>
    public ClickHouseHttpClient CreateClient(IReadOnlyDictionary<string, string>? insertSettings = null) =>
        new(Server.HttpUrl, "default", LocalClickHouseServer.WriterUser, Server.WriterPassword, TimeSpan.FromSeconds(30), insertSettings);

    public async Task InitializeAsync()
    {
        _zooKeeper = await LocalZooKeeper.StartAsync(Path.Combine(_stateDirectory, "zookeeper"));
        _server = await LocalClickHouseServer.StartAsync(
            Path.Combine(_stateDirectory, "clickhouse"), new LocalClickHouseOptions { ZooKeeper = _zooKeeper.Connect });
        await WaitUntilZooKeeperAnswersAsync();
    }

    /// <summary>
    /// ZooKeeper answers <c>ruok</c> before it serves sessions. Under load ClickHouse's first session attempt can
    /// fall into that gap, and then the first statements that need ZooKeeper (CREATE TABLE ... Replicated) fail with
    /// "Code: 999 ... All connection tries failed ... while receiving handshake": wait until a ZooKeeper read works.
    /// </summary>
    private async Task WaitUntilZooKeeperAnswersAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                await Server.QueryAsync("SELECT count() FROM system.zookeeper WHERE path = '/'");
                return;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    public async Task DisposeAsync()
    {
        // ClickHouse first: it would otherwise keep reconnecting to a ZooKeeper that is gone.
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (_zooKeeper is not null)
        {
            await _zooKeeper.DisposeAsync();
        }

        if (Directory.Exists(_stateDirectory))
        {
            Directory.Delete(_stateDirectory, recursive: true);
        }
    }
}
