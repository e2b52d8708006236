using System.Globalization;
using System.Text;
using Confluent.Kafka;
using EventPipeline.Stages;
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
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Three_kills_at_random_moments_leave_no_loss_and_no_duplicate()
    {
        var topic = kafka.CreateTopic(Partitions);
        kafka.Cluster.CreateTopic($"{topic}.dlq", 4);
        kafka.Cluster.CreateTopic($"{topic}.batches", Partitions);
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
            using var victim = PipelineProcess.Start(args, output, $"run{run}");
            var threshold = killAbove;
            await EndToEnd.WaitUntilAsync(async () => await clickHouse.Server.CountAsync(table) > threshold || victim.HasExited, StepTimeout,
                $"more than {threshold} rows (run {run})", TimeSpan.FromMilliseconds(20));
            Assert.False(victim.HasExited, $"run {run} exited by itself: {victim.Stderr}");
            victim.Kill();
            await victim.WaitForExitAsync(TimeSpan.FromSeconds(10));
            output.WriteLine($"Killed run {run} at {await clickHouse.Server.CountAsync(table)} rows");
        }

        using var survivor = PipelineProcess.Start(args, output, "final");
        await EndToEnd.WaitUntilAsync(async () => (await EndToEnd.CountRowsAsync(clickHouse.Server, table)).Distinct >= good || survivor.HasExited,
            StepTimeout, $"{good} distinct events");
        await EndToEnd.WaitUntilAsync(async () => (await DeadLetterSourcesAsync($"{topic}.dlq")).Distinct().Count() >= malformed, StepTimeout,
            $"{malformed} dead letters", TimeSpan.FromSeconds(1));
        // Give any late duplicate the time to land before counting.
        await Task.Delay(TimeSpan.FromSeconds(2));
        survivor.Terminate();
        Assert.Equal(0, await survivor.WaitForExitAsync(TimeSpan.FromSeconds(40)));

        var (rows, distinct) = await EndToEnd.CountRowsAsync(clickHouse.Server, table);
        var sources = await DeadLetterSourcesAsync($"{topic}.dlq");
        output.WriteLine($"good {good}, rows {rows}, distinct {distinct}; malformed {malformed}, dead letters {sources.Count}, distinct {sources.Distinct().Count()}");
        Assert.Equal(good, distinct);
        Assert.Equal(good, rows); // exactly once: not a single duplicate row
        Assert.Equal(malformed, sources.Distinct().Count());
        Assert.Equal(MessageCount, distinct + sources.Distinct().Count());
    }

    private async Task<List<(int Partition, long Offset)>> DeadLetterSourcesAsync(string deadLetterTopic) =>
        [.. (await kafka.ReadAllAsync(deadLetterTopic, StepTimeout)).Select(letter =>
            (int.Parse(Header(letter, DeadLetterStage.PartitionHeader), CultureInfo.InvariantCulture),
             long.Parse(Header(letter, DeadLetterStage.OffsetHeader), CultureInfo.InvariantCulture)))];

    private static string Header(ConsumeResult<byte[]?, byte[]> letter, string key) =>
        Encoding.UTF8.GetString(letter.Message.Headers.GetLastBytes(key));
}
