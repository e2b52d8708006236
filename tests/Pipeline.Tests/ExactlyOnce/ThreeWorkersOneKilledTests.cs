using EventPipeline.DevTools.LocalServers;
using System.Text.RegularExpressions;
using EventPipeline.Tests.Infrastructure;
using EventPipeline.Tests.Integration;
using Xunit.Abstractions;

namespace EventPipeline.Tests.ExactlyOnce;

/// <summary>
/// Exactly-once across a rebalance forced by a crash: three workers share the group, one is killed (SIGKILL) while
/// events flow, and the two others take over its partitions. They replay its recorded batches from the ledger, so
/// the blocks it had inserted but not committed are deduplicated instead of inserted twice.
/// </summary>
[Collection(ExactlyOnceCollection.Name)]
public sealed partial class ThreeWorkersOneKilledTests(KafkaFixture kafka, ReplicatedClickHouseFixture clickHouse, ITestOutputHelper output)
{
    private const int Partitions = 24;
    private const int MessageCount = 60_000;
    private const int KillAbove = 20_000;

    [Fact]
    public async Task The_survivors_take_over_a_killed_workers_partitions_with_no_loss_and_no_duplicate()
    {
        var topic = FaultScenario.CreateTopics(kafka, Partitions);
        var table = await clickHouse.CreateReplicatedEventsTableAsync();
        var messages = EndToEnd.Generate(MessageCount, seed: 43, malformedFraction: 0.01);
        var good = messages.Count(m => !m.IsMalformed);
        var malformed = messages.Count(m => m.IsMalformed);
        var args = EndToEnd.WorkerArgs(kafka.BootstrapServers, topic, $"group-{Guid.NewGuid():N}", clickHouse.Server.HttpUrl, table,
            ("Delivery:Guarantee", "ExactlyOnce"), ("Batch:Size", 700), ("Batch:MaxLatencyMs", 100));

        var workers = new List<PipelineProcess>();
        try
        {
            // One at a time, each in the group before the next: the victim must own partitions when it dies.
            foreach (var name in new[] { "worker1", "victim", "worker3" })
            {
                var worker = TestPipelineProcess.Start(args, output, name);
                workers.Add(worker);
                await EndToEnd.WaitUntilAsync(() => HoldsPartitions().IsMatch(worker.Stderr) || worker.HasExited, FaultScenario.StepTimeout,
                    $"{name} to be assigned partitions");
                Assert.False(worker.HasExited, $"{name} exited: {worker.Stderr}");
            }
            var victim = workers[1];

            var producing = FaultScenario.ProduceGraduallyAsync(kafka, topic, [.. messages.Select(m => m.Payload)], chunks: 30, TimeSpan.FromMilliseconds(250), output);
            await EndToEnd.WaitUntilAsync(async () => await clickHouse.Server.CountAsync(table) > KillAbove || victim.HasExited, FaultScenario.StepTimeout,
                $"more than {KillAbove} rows", TimeSpan.FromMilliseconds(20));
            Assert.False(victim.HasExited, $"the victim exited by itself: {victim.Stderr}");
            victim.Kill();
            await victim.WaitForExitAsync(TimeSpan.FromSeconds(10));
            output.WriteLine($"Killed the victim at {await clickHouse.Server.CountAsync(table)} rows");

            await producing;
            var survivors = new[] { workers[0], workers[2] };
            await FaultScenario.WaitForEverythingAsync(kafka, clickHouse.Server, table, topic, good, malformed, () => survivors.Any(s => s.HasExited));
            foreach (var survivor in survivors)
                Assert.False(survivor.HasExited, $"a survivor exited: {survivor.Stderr}");
            // The victim's partitions did move: a survivor was assigned more after the kill.
            Assert.Contains(survivors, s => HoldsPartitions().Matches(s.Stderr).Count > 1);

            foreach (var survivor in survivors)
                survivor.Terminate();
            foreach (var survivor in survivors)
                Assert.Equal(0, await survivor.WaitForExitAsync(TimeSpan.FromSeconds(40)));

            await FaultScenario.AssertExactlyOnceAsync(output, kafka, clickHouse.Server, table, topic, good, malformed);
        }
        finally
        {
            foreach (var worker in workers)
                worker.Dispose();
        }
    }

    [GeneratedRegex(@"Assigned [1-9][0-9]* partitions")]
    private static partial Regex HoldsPartitions();
}
