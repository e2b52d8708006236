using EventPipeline.Host;
using EventPipeline.DevTools.LocalServers;

namespace EventPipeline.Tests.Operations;

/// <summary>
/// Two local ClickHouse servers that both know the cluster <c>two_shards</c> (one shard each), for a
/// <c>Distributed</c> table on the first.
/// </summary>
/// <remarks>
/// The servers pick their ports when they start, so the cluster (which names both TCP ports) cannot be part of
/// the first config: it goes into config.d/ next to config.xml, which ClickHouse merges into its configuration,
/// and each server is restarted once to read it.
/// </remarks>
public sealed class TwoShardCluster : IAsyncLifetime
{
    public const string Cluster = "two_shards";
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"pipeline-tests-shards-{Guid.NewGuid():N}");

    /// <summary>Shard 1; it also holds the Distributed tables the worker inserts into.</summary>
    public LocalClickHouseServer First { get; private set; } = null!;

    public LocalClickHouseServer Second { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        First = await LocalClickHouseServer.StartAsync(Path.Combine(_root, "shard1"));
        Second = await LocalClickHouseServer.StartAsync(Path.Combine(_root, "shard2"));
        var remoteServers = $"""
            <yandex>
              <remote_servers>
                <{Cluster}>
                  <shard><replica><host>127.0.0.1</host><port>{First.TcpPort}</port></replica></shard>
                  <shard><replica><host>127.0.0.1</host><port>{Second.TcpPort}</port></replica></shard>
                </{Cluster}>
              </remote_servers>
            </yandex>
            """;
        foreach (var server in new[] { First, Second })
        {
            Directory.CreateDirectory(Path.Combine(server.StateDirectory, "config.d"));
            File.WriteAllText(Path.Combine(server.StateDirectory, "config.d", "remote_servers.xml"), remoteServers);
            await server.StopAsync();
            await server.StartAgainAsync();
            Assert.Equal("2", (await server.QueryAsync($"SELECT count() FROM system.clusters WHERE cluster = '{Cluster}'")).Trim());
        }
    }

    /// <summary>Creates events_local_X on both shards and events_dist_X over them on <see cref="First"/>; returns (local, distributed).</summary>
    public async Task<(string Local, string Distributed)> CreateTablesAsync()
    {
        var suffix = Guid.NewGuid().ToString("N");
        var local = $"events_local_{suffix}";
        var distributed = $"events_dist_{suffix}";
        await First.QueryAsync(EventsTable.CreateStatement(local));
        await Second.QueryAsync(EventsTable.CreateStatement(local));
        await First.QueryAsync($"CREATE TABLE {distributed} AS {local} ENGINE = Distributed({Cluster}, default, {local}, rand())");
        return (local, distributed);
    }

    /// <summary>The event ids stored on one shard, duplicates included.</summary>
    public static async Task<List<Guid>> IdsAsync(LocalClickHouseServer shard, string table) =>
        (await shard.QueryAsync($"SELECT toString(event_id) FROM {table} FORMAT TabSeparated"))
        .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Guid.Parse).ToList();

    public async Task DisposeAsync()
    {
        if (First is not null)
            await First.DisposeAsync();
        if (Second is not null)
            await Second.DisposeAsync();
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }
}
