using EventPipeline.Host;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.Tests.Infrastructure;
using EventPipeline.Tests.Integration;
using Xunit.Abstractions;

namespace EventPipeline.Tests.ExactlyOnce;

/// <summary>
/// Exactly-once while ClickHouse itself crashes: the server is killed (SIGKILL) twice while events flow and
/// started again a few seconds later. Inserts cut off mid-flight are retried byte for byte, and after each restart
/// the replicated table stays read-only (code 242) until the old ZooKeeper session expires; the worker only
/// retries. The server is private to this test so that killing it disturbs no other test.
/// </summary>
[Collection(ExactlyOnceCollection.Name)]
public sealed class ClickHouseKilledTests(KafkaFixture kafka, ReplicatedClickHouseFixture clickHouse, ITestOutputHelper output)
{
    private const int Partitions = 8;
    private const int MessageCount = 40_000;
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task Two_kill_9s_of_ClickHouse_while_events_flow_leave_no_loss_and_no_duplicate()
    {
        var stateDirectory = Path.Combine(Path.GetTempPath(), $"pipeline-tests-clickhouse-killed-{Guid.NewGuid():N}");
        var server = await LocalClickHouseServer.StartAsync(stateDirectory, new LocalClickHouseOptions { ZooKeeper = clickHouse.ZooKeeper.Connect });
        try
        {
            var topic = FaultScenario.CreateTopics(kafka, Partitions);
            var table = $"events_{Guid.NewGuid():N}";
            await server.QueryAsync(EventsTable.CreateStatement(table, ReplicatedClickHouseFixture.ReplicatedEngine(table)));
            var messages = EndToEnd.Generate(MessageCount, seed: 31, malformedFraction: 0.01);
            var good = messages.Count(m => !m.IsMalformed);
            var malformed = messages.Count(m => m.IsMalformed);
            var args = EndToEnd.WorkerArgs(kafka.BootstrapServers, topic, $"group-{Guid.NewGuid():N}", server.HttpUrl, table,
                ("Delivery:Guarantee", "ExactlyOnce"), ("Batch:Size", 500), ("Batch:MaxLatencyMs", 100),
                // Keeps the worker's retries close behind the restart instead of up to 15 s later.
                ("ClickHouse:RequestTimeoutSeconds", 10));

            using var worker = TestPipelineProcess.Start(args, output, "worker");
            var producing = FaultScenario.ProduceGraduallyAsync(kafka, topic, [.. messages.Select(m => m.Payload)], chunks: 20, TimeSpan.FromMilliseconds(400), output);
            foreach (var killAbove in new[] { 6_000, 18_000 })
            {
                await EndToEnd.WaitUntilAsync(async () => await server.CountAsync(table) > killAbove || worker.HasExited, FaultScenario.StepTimeout,
                    $"more than {killAbove} rows", TimeSpan.FromMilliseconds(20));
                Assert.False(worker.HasExited, $"the worker exited: {worker.Stderr}");
                server.Kill();
                output.WriteLine($"Killed ClickHouse above {killAbove} rows");
                await Task.Delay(Outage);
                await server.StartAgainAsync();
                output.WriteLine($"ClickHouse back with {await server.CountAsync(table)} rows");
            }

            await producing;
            await FaultScenario.WaitForEverythingAsync(kafka, server, table, topic, good, malformed, () => worker.HasExited);
            Assert.False(worker.HasExited, $"the worker exited: {worker.Stderr}");
            Assert.Contains("Insert failed", worker.Stderr); // the kills did hit inserts
            worker.Terminate();
            Assert.Equal(0, await worker.WaitForExitAsync(TimeSpan.FromSeconds(40)));

            await FaultScenario.AssertExactlyOnceAsync(output, kafka, server, table, topic, good, malformed);
        }
        finally
        {
            await server.DisposeAsync();
            Directory.Delete(stateDirectory, recursive: true);
        }
    }
}
