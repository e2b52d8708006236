using EventPipeline.DevTools.LocalServers;
using System.Globalization;
using EventPipeline.Stages.Events;
using EventPipeline.Tests.Infrastructure;
using Xunit.Abstractions;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Tests.Integration;

/// <summary>
/// Changing Batch:Policy is a restart: the worker drains and commits under one policy and the next one resumes
/// at the committed offsets, while events keep arriving. At-least-once with clean drains must neither lose nor
/// duplicate an event, and each run's inserts are sized by the policy it was started with.
/// </summary>
[Collection(KafkaAndClickHouseCollection.Name)]
public sealed class PolicySwitchTests(KafkaFixture kafka, ClickHouseFixture clickHouse, ITestOutputHelper output)
{
    private const int Partitions = 16;
    private const int ChunkSize = 500;
    private const long RowsPerRun = 4_000;
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(90);

    private sealed record Run(string Name, string Policy, Dictionary<string, string?> Settings);

    [Fact]
    public async Task Static_then_aimd_then_dqn_then_a_dqn_with_a_broken_model_insert_every_event_exactly_once()
    {
        var topic = kafka.CreateTopic(Partitions);
        var table = await clickHouse.CreateEventsTableAsync();
        var telemetry = await DeployedTables.CreateAsync(clickHouse.Server, "telemetry.sql", "pipeline_telemetry");
        var brokenModel = Path.Combine(Path.GetTempPath(), $"no-batcher-model-{Guid.NewGuid():N}");
        Run[] runs =
        [
            new("1-static", "static", new() { ["Batch:Policy"] = "static", ["Batch:Size"] = "2000" }),
            new("2-aimd", "aimd", new() { ["Batch:Policy"] = "aimd", ["Batch:Size"] = "2000", ["Batch:MinSize"] = "500", ["Batch:AimdStep"] = "500" }),
            new("3-dqn", "dqn", new() { ["Batch:Policy"] = "dqn" }), // the shipped model, next to the test binaries
            new("4-dqn-broken", "dqn", new() { ["Batch:Policy"] = "dqn", ["Batch:ModelPath"] = brokenModel, ["Batch:Size"] = "3000" }),
        ];

        using var stopProducing = new CancellationTokenSource();
        long produced = 0;
        var producer = Task.Run(() =>
        {
            // Paced well below what the worker inserts, so every run catches up, and far below what the mock keeps per partition.
            var generator = new EventGenerator(new EventGeneratorOptions { Seed = 31 });
            while (!stopProducing.IsCancellationRequested)
            {
                kafka.ProduceAll(topic, Enumerable.Range(0, ChunkSize).Select(_ => generator.Next().Payload));
                Interlocked.Add(ref produced, ChunkSize);
                Thread.Sleep(250);
            }
        });

        var inserted = new Dictionary<string, long>();
        var metrics = new Dictionary<string, (double Model, double Fallback, double Unusable, double TelemetryDropped)>();
        foreach (var run in runs)
        {
            run.Settings["Telemetry:Table"] = telemetry;
            run.Settings["Telemetry:Worker"] = run.Name;
            await using var worker = RunningWorker.Start(kafka.BootstrapServers, topic, clickHouse.Server.HttpUrl, table, output, run.Settings);
            await RunningWorker.WaitUntilAsync(() => Task.FromResult(worker.Worker.Inserted >= RowsPerRun), StepTimeout,
                () => $"{run.Name}: inserted {worker.Worker.Inserted}");
            if (run == runs[^1])
            {
                // The last run takes whatever the others left: it stops only once ClickHouse holds every produced event.
                await stopProducing.CancelAsync();
                await producer;
                await RunningWorker.WaitUntilAsync(async () => await clickHouse.Server.CountAsync(table) >= Interlocked.Read(ref produced), StepTimeout,
                    () => $"{run.Name}: inserted {worker.Worker.Inserted} of {Interlocked.Read(ref produced)} produced");
            }
            await worker.StopAsync(); // drains, commits, leaves the group; flushes the telemetry queue
            inserted[run.Name] = worker.Worker.Inserted;
            metrics[run.Name] = (worker.Metrics.BatchPolicyDecisions.WithLabels("model").Value, worker.Metrics.BatchPolicyDecisions.WithLabels("fallback").Value,
                worker.Metrics.BatchPolicyFallbacks.WithLabels("model_unusable").Value, worker.Metrics.TelemetryDropped.Value);
            output.WriteLine($"{run.Name}: inserted {inserted[run.Name]}, produced so far {Interlocked.Read(ref produced)}, decisions {metrics[run.Name]}");
        }

        var (rows, distinct) = await EndToEnd.CountRowsAsync(clickHouse.Server, table);
        Assert.Equal(produced, rows);
        Assert.Equal(produced, distinct);
        Assert.Equal(produced, inserted.Values.Sum());

        // Which policy sized each run's inserts: the telemetry row of every insert names it.
        var actedBy = (await clickHouse.Server.QueryAsync(
                $"SELECT worker, policy, sumIf(rows, succeeded = 1) FROM {telemetry} GROUP BY worker, policy ORDER BY worker FORMAT TabSeparated"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t')).ToList();
        Assert.Equal(runs.Select(r => (r.Name, r.Policy, inserted[r.Name])),
            actedBy.Select(f => (f[0], f[1], long.Parse(f[2], CultureInfo.InvariantCulture))));

        // The decision-source metric tells the learned model acting from its static fallback.
        Assert.Equal((0.0, 0.0, 0.0, 0.0), metrics["1-static"]);
        Assert.Equal((0.0, 0.0, 0.0, 0.0), metrics["2-aimd"]);
        Assert.True(metrics["3-dqn"].Model > 0, "the shipped model made no decision");
        Assert.Equal((0.0, 0.0, 0.0), (metrics["3-dqn"].Fallback, metrics["3-dqn"].Unusable, metrics["3-dqn"].TelemetryDropped));
        Assert.True(metrics["4-dqn-broken"].Fallback > 0, "the fallback made no decision");
        Assert.Equal((0.0, 1.0, 0.0), (metrics["4-dqn-broken"].Model, metrics["4-dqn-broken"].Unusable, metrics["4-dqn-broken"].TelemetryDropped));
    }
}
