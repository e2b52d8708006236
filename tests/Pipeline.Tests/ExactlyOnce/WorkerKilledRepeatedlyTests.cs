using EventPipeline.Tests.Infrastructure;
using EventPipeline.Tests.Integration;
using Xunit.Abstractions;

namespace EventPipeline.Tests.ExactlyOnce;

/// <summary>
/// Exactly-once under kill -9: the worker is killed several times at random moments and restarted under the same
/// group; at the end every good event is in ClickHouse exactly once and every malformed one in the dead-letter
/// topic (whose own delivery is at-least-once: it is counted by distinct source offset).
/// </summary>
[Collection(ExactlyOnceCollection.Name)]
public sealed class WorkerKilledRepeatedlyTests(KafkaFixture kafka, ReplicatedClickHouseFixture clickHouse, ITestOutputHelper output)
{
    private const int Partitions = 16;
    private const int MessageCount = 60_000;

    [Fact]
    public async Task Three_kills_at_random_moments_leave_no_loss_and_no_duplicate()
    {
        var topic = FaultScenario.CreateTopics(kafka, Partitions);
        var table = await clickHouse.CreateReplicatedEventsTableAsync();
        var messages = EndToEnd.Generate(MessageCount, seed: 23, malformedFraction: 0.01);
        var good = messages.Count(m => !m.IsMalformed);
        var malformed = messages.Count(m => m.IsMalformed);
        kafka.ProduceAll(topic, messages.Select(m => m.Payload));
        var args = EndToEnd.WorkerArgs(kafka.BootstrapServers, topic, $"group-{Guid.NewGuid():N}", clickHouse.Server.HttpUrl, table,
            ("Delivery:Guarantee", "ExactlyOnce"), ("Batch:Size", 700), ("Batch:MaxLatencyMs", 100));

        var random = new Random(5);
        long killAbove = 0;
        for (var run = 1; run <= 3; run++)
        {
            killAbove += random.Next(6_000, 14_000);
            await FaultScenario.KillOnceRowsExceedAsync(args, clickHouse.Server, table, killAbove, $"run{run}", output);
        }

        await FaultScenario.RunSurvivorAndAssertExactlyOnceAsync(args, kafka, clickHouse.Server, table, topic, good, malformed, output);
    }
}
