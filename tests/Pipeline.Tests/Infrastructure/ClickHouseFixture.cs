using EventPipeline.DevTools.LocalServers;
using Xunit;

namespace EventPipeline.Tests.Infrastructure;

/// <summary>One private ClickHouse server per test collection, its state in a temp folder deleted afterwards.</summary>
public sealed class ClickHouseFixture : IAsyncLifetime
{
    private readonly string _stateDirectory = Path.Combine(Path.GetTempPath(), $"pipeline-tests-clickhouse-{Guid.NewGuid():N}");
    private LocalClickHouseServer? _server;

    public LocalClickHouseServer Server => _server ?? throw new InvalidOperationException("The fixture has not started yet.");

    /// <summary>The production events schema, in the dialect of ClickHouse 18.16 (no DateTime64, no TTL).</summary>
    public static string EventsTableDdl(string name) => EventPipeline.Host.EventsTable.CreateStatement(name);

    /// <summary>Creates an events table, by default under a fresh unique name, and returns its name.</summary>
    public async Task<string> CreateEventsTableAsync(string? name = null)
    {
        name ??= $"events_{Guid.NewGuid():N}";
        await Server.QueryAsync(EventsTableDdl(name));
        return name;
    }

    public async Task InitializeAsync() => _server = await LocalClickHouseServer.StartAsync(_stateDirectory);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (Directory.Exists(_stateDirectory))
        {
            Directory.Delete(_stateDirectory, recursive: true);
        }
    }
}
