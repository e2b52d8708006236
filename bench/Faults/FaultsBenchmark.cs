using EventPipeline.Host;
using EventPipeline.DevTools.LocalServers;

namespace EventPipeline.Bench.Faults;

/// <summary>
/// Starts ZooKeeper, a ClickHouse that uses it and a mock Kafka cluster, then runs one <see cref="FaultsRun"/>
/// per guarantee (exactly-once on a ReplicatedMergeTree table, at-least-once on a plain MergeTree table) and
/// writes the report.
/// </summary>
internal static class FaultsBenchmark
{
    public static async Task<int> RunAsync(FaultsOptions options)
    {
        using var interrupt = ConsoleInterrupt.Create();
        var ct = interrupt.Token;
        var startedUtc = DateTime.UtcNow;
        var stateDir = Path.Combine(Path.GetTempPath(), $"bench-faults-{startedUtc:yyyyMMdd-HHmmss}");
        var logDir = Path.Combine(stateDir, "worker-logs");
        Directory.CreateDirectory(logDir);
        Console.WriteLine($"State and worker logs under {stateDir}");

        var zooKeeper = await LocalZooKeeper.StartAsync(Path.Combine(stateDir, "zookeeper"), ct);
        LocalClickHouseServer? server = null;
        try
        {
            server = await LocalClickHouseServer.StartAsync(Path.Combine(stateDir, "clickhouse"), new LocalClickHouseOptions { ZooKeeper = zooKeeper.Connect }, ct);
            using var kafka = MockKafkaCluster.Start(brokers: 3);
            kafka.SetInitialRebalanceDelay(TimeSpan.Zero);
            var scenario = new FaultsRun(options, kafka, server, logDir);
            var results = new List<GuaranteeResult>();
            foreach (var guarantee in options.Guarantee)
            {
                results.Add(await scenario.RunAsync(guarantee, ct));
                await Task.Delay(2000, ct); // let merges of the last table settle before the next run
            }

            var version = (await server.QueryAsync("SELECT version() FORMAT TabSeparated", ct)).Trim();
            var report = FaultsReport.Create(startedUtc, options, version, results);
            report.PrintTable();
            Console.WriteLine($"Wrote {string.Join(", ", report.Write(options.OutputDirectory))}");
            return results.All(r => r.Failure is null) ? 0 : 1;
        }
        finally
        {
            // ClickHouse first: it would otherwise keep reconnecting to a ZooKeeper that is gone.
            if (server is not null)
                await server.DisposeAsync();
            await zooKeeper.DisposeAsync();
            Directory.Delete(Path.Combine(stateDir, "clickhouse"), recursive: true);
            Directory.Delete(Path.Combine(stateDir, "zookeeper"), recursive: true);
        }
    }
}
