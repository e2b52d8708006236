using EventPipeline.DevTools.LocalServers;

namespace EventPipeline.Bench;

/// <summary>
/// What a bench that runs workers against a local ClickHouse stands on: a state directory of its own under the temp path
/// (the server's data and the workers' logs), the server with the bench database, and a mock Kafka cluster unless the
/// bench starts one per run. A failed bench is diagnosed from its logs, so the state directory is deleted only once
/// <see cref="Succeeded"/> was called; otherwise disposing keeps it and says where the logs are.
/// </summary>
internal sealed class BenchEnvironment : IAsyncDisposable
{
    public const string Database = "bench";
    private const string LogFolder = "logs";

    private readonly MockKafkaCluster? _kafka;
    private bool _succeeded;

    private BenchEnvironment(string stateDirectory, MockKafkaCluster? kafka, LocalClickHouseServer server) =>
        (StateDirectory, _kafka, Server) = (stateDirectory, kafka, server);

    public string StateDirectory { get; }

    /// <summary>Where the workers write their logs: kept after a failure.</summary>
    public string LogDirectory => Path.Combine(StateDirectory, LogFolder);

    public LocalClickHouseServer Server { get; }

    public string ServerVersion { get; private set; } = "";

    public MockKafkaCluster Kafka => _kafka ?? throw new InvalidOperationException("this bench starts a Kafka cluster per run, not one for the whole bench");

    /// <param name="name">The bench's name, in the state directory's: bench-{name}-{guid}.</param>
    /// <param name="kafkaBrokers">Brokers of the mock Kafka cluster, or null for a bench that starts its Kafka per run.</param>
    public static async Task<BenchEnvironment> StartAsync(string name, int? kafkaBrokers, CancellationToken ct)
    {
        var stateDirectory = Path.Combine(Path.GetTempPath(), $"bench-{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(stateDirectory, LogFolder));
        var kafka = kafkaBrokers is { } brokers ? MockKafkaCluster.Start(brokers) : null;
        LocalClickHouseServer server;
        try
        {
            // Every worker joins a new group: no 3 s wait for more members (the mock's default) in any measured time.
            kafka?.SetInitialRebalanceDelay(TimeSpan.Zero);
            server = await LocalClickHouseServer.StartAsync(Path.Combine(stateDirectory, "clickhouse"), ct: ct);
        }
        catch
        {
            kafka?.Dispose();
            throw;
        }
        var environment = new BenchEnvironment(stateDirectory, kafka, server);
        try
        {
            await server.QueryAsync($"CREATE DATABASE IF NOT EXISTS {Database}", ct);
            environment.ServerVersion = (await server.QueryAsync("SELECT version() FORMAT TabSeparated", ct)).Trim();
            return environment;
        }
        catch
        {
            await environment.DisposeAsync();
            throw;
        }
    }

    /// <summary>The bench completed: disposing may delete the state directory, logs included.</summary>
    public void Succeeded() => _succeeded = true;

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        if (_succeeded)
            Directory.Delete(StateDirectory, recursive: true);
        else
            Console.Error.WriteLine($"The worker logs are kept in {LogDirectory}");
        _kafka?.Dispose();
    }
}
