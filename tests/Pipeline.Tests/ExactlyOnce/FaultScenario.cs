using System.Globalization;
using System.Text;
using Confluent.Kafka;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.Stages;
using EventPipeline.Tests.Infrastructure;
using EventPipeline.Tests.Integration;
using Xunit.Abstractions;

namespace EventPipeline.Tests.ExactlyOnce;

/// <summary>One dead letter as the tests see it: where it came from, why, and its bytes.</summary>
internal sealed record DeadLetter(int Partition, long Offset, string Reason, byte[] Value);

/// <summary>
/// What the fault tests share: topics for an exactly-once run, producing while the worker runs, reading the dead
/// letters back, and the final exact check (every event once in ClickHouse or once, by source offset, in the DLQ).
/// </summary>
internal static class FaultScenario
{
    public static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(90);

    /// <summary>The source topic under a fresh name, its dead-letter topic and its batch ledger (one partition per source partition).</summary>
    public static string CreateTopics(KafkaFixture kafka, int partitions, int deadLetterPartitions = 4)
    {
        var topic = kafka.CreateTopic(partitions);
        kafka.Cluster.CreateTopic($"{topic}.dlq", deadLetterPartitions);
        kafka.Cluster.CreateTopic($"{topic}.batches", partitions);
        return topic;
    }

    /// <summary>
    /// Produces <paramref name="payloads"/> in <paramref name="chunks"/> parts, <paramref name="pause"/> apart, so that
    /// events keep arriving while faults happen. It uses a producer of its own, whose client errors go to the test
    /// output: a fault injected into the cluster must not leave the fixture's shared producer broken for later tests.
    /// </summary>
    public static Task ProduceGraduallyAsync(KafkaFixture kafka, string topic, IReadOnlyList<byte[]> payloads, int chunks, TimeSpan pause,
        ITestOutputHelper output) =>
        Task.Run(async () =>
        {
            using var producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
            {
                BootstrapServers = kafka.BootstrapServers,
                Acks = Acks.All,
                EnableIdempotence = true,
                LingerMs = 5,
                StickyPartitioningLingerMs = 0,
                BatchNumMessages = 10_000,
                QueueBufferingMaxMessages = 1_000_000,
                // A request caught by a broker going down otherwise waits out the 30 s default before its retry.
                RequestTimeoutMs = 5_000,
            }).SetErrorHandler((_, error) => Log(output, $"Test producer error: {error.Reason} (fatal: {error.IsFatal})")).Build();
            var failures = 0;
            var size = (payloads.Count + chunks - 1) / chunks;
            for (var start = 0; start < payloads.Count; start += size)
            {
                foreach (var payload in payloads.Skip(start).Take(size))
                {
                    producer.Produce(topic, new Message<byte[]?, byte[]> { Value = payload }, report =>
                    {
                        if (report.Error.IsError && Interlocked.Increment(ref failures) == 1)
                            Log(output, $"Test producer delivery failed: {report.Error.Reason}");
                    });
                }
                await Task.Delay(pause);
            }
            var unacknowledged = producer.Flush(StepTimeout);
            Assert.True(unacknowledged == 0, $"{unacknowledged} messages to {topic} still unacknowledged after {StepTimeout.TotalSeconds} s");
            Assert.True(failures == 0, $"{failures} deliveries to {topic} failed");
        });

    /// <summary>Starts a worker, waits until <paramref name="table"/> holds more than <paramref name="threshold"/> rows, and SIGKILLs it.</summary>
    public static async Task KillOnceRowsExceedAsync(IReadOnlyList<string> args, LocalClickHouseServer server, string table, long threshold, string name,
        ITestOutputHelper output)
    {
        using var victim = TestPipelineProcess.Start(args, output, name);
        await EndToEnd.WaitUntilAsync(async () => await server.CountAsync(table) > threshold || victim.HasExited, StepTimeout,
            $"more than {threshold} rows ({name})", TimeSpan.FromMilliseconds(20));
        Assert.False(victim.HasExited, $"{name} exited by itself: {victim.Stderr}");
        victim.Kill();
        await victim.WaitForExitAsync(TimeSpan.FromSeconds(10));
        output.WriteLine($"Killed {name} at {await server.CountAsync(table)} rows");
    }

    /// <summary>
    /// The last worker of a kill test: runs until every event is accounted for, must drain and exit 0 on SIGTERM, then
    /// the exactly-once verdict.
    /// </summary>
    public static async Task RunSurvivorAndAssertExactlyOnceAsync(IReadOnlyList<string> args, KafkaFixture kafka, LocalClickHouseServer server,
        string table, string topic, int good, int malformed, ITestOutputHelper output)
    {
        using (var survivor = TestPipelineProcess.Start(args, output, "final"))
        {
            await WaitForEverythingAsync(kafka, server, table, topic, good, malformed, () => survivor.HasExited);
            Assert.False(survivor.HasExited, $"the worker exited: {survivor.Stderr}");
            survivor.Terminate();
            Assert.Equal(0, await survivor.WaitForExitAsync(TimeSpan.FromSeconds(40)));
        }
        await AssertExactlyOnceAsync(output, kafka, server, table, topic, good, malformed);
    }

    public static async Task<List<DeadLetter>> ReadDeadLettersAsync(KafkaFixture kafka, string deadLetterTopic) =>
        [.. (await kafka.ReadAllAsync(deadLetterTopic, StepTimeout)).Select(letter => new DeadLetter(
            int.Parse(Header(letter, DeadLetterStage.PartitionHeader), CultureInfo.InvariantCulture),
            long.Parse(Header(letter, DeadLetterStage.OffsetHeader), CultureInfo.InvariantCulture),
            Header(letter, DeadLetterStage.ReasonHeader),
            letter.Message.Value ?? []))];

    public static int DistinctSources(IEnumerable<DeadLetter> letters) => letters.Select(l => (l.Partition, l.Offset)).Distinct().Count();

    /// <summary>Waits until ClickHouse holds <paramref name="good"/> distinct events and the DLQ <paramref name="malformed"/> distinct sources.</summary>
    public static async Task WaitForEverythingAsync(KafkaFixture kafka, LocalClickHouseServer server, string table, string topic, long good, long malformed,
        Func<bool>? gaveUp = null)
    {
        var distinct = 0L;
        await EndToEnd.WaitUntilAsync(async () => (distinct = (await EndToEnd.CountRowsAsync(server, table)).Distinct) >= good || gaveUp?.Invoke() == true,
            StepTimeout, $"{good} distinct events", TimeSpan.FromMilliseconds(250));
        var letters = new List<DeadLetter>();
        try
        {
            await EndToEnd.WaitUntilAsync(async () => DistinctSources(letters = await ReadDeadLettersAsync(kafka, $"{topic}.dlq")) >= malformed || gaveUp?.Invoke() == true,
                StepTimeout, $"{malformed} dead letters", TimeSpan.FromSeconds(1));
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}: the last read found {letters.Count} dead letters from {DistinctSources(letters)} distinct sources " +
                                       $"(rows: {distinct} distinct events of {good}); dead-letter partitions [low, high) read: " +
                                       DescribePartitions(kafka, $"{topic}.dlq", letters), ex);
        }
        // A fixed wait on purpose: a late duplicate (a batch re-inserted after a rebalance) has no event to wait for,
        // and the exact count is only meaningful once it had the time to land.
        await Task.Delay(TimeSpan.FromSeconds(2));
    }

    /// <summary>
    /// The exactly-once verdict: every good event is in the table exactly once (rows == distinct == good), every
    /// malformed one is dead-lettered (counted by distinct source offset: the DLQ itself is at-least-once) with a
    /// reason, and together they account for every message produced.
    /// </summary>
    public static async Task AssertExactlyOnceAsync(ITestOutputHelper output, KafkaFixture kafka, LocalClickHouseServer server, string table, string topic,
        int good, int malformed)
    {
        var (rows, distinct) = await EndToEnd.CountRowsAsync(server, table);
        var letters = await ReadDeadLettersAsync(kafka, $"{topic}.dlq");
        var sources = DistinctSources(letters);
        output.WriteLine($"good {good}: rows {rows}, distinct {distinct}, duplicate rows {rows - distinct}; " +
                         $"malformed {malformed}: dead letters {letters.Count}, distinct sources {sources}, duplicate dead letters {letters.Count - sources}");
        Assert.Equal(good, distinct);
        Assert.Equal(good, rows); // exactly once: not a single duplicate row
        Assert.Equal(malformed, sources);
        Assert.All(letters, letter => Assert.False(string.IsNullOrWhiteSpace(letter.Reason)));
        Assert.Equal(good + malformed, distinct + sources);
    }

    /// <summary>Each partition's watermarks and how many messages a full read found there: a low watermark above 0 means the mock evicted data.</summary>
    private static string DescribePartitions(KafkaFixture kafka, string topic, List<DeadLetter> letters)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]>(new ConsumerConfig { BootstrapServers = kafka.BootstrapServers, GroupId = $"diag-{Guid.NewGuid():N}" }).Build();
        using var admin = new DependentAdminClientBuilder(kafka.Producer.Handle).Build();
        var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions.Select(p => p.PartitionId).Order();
        return string.Join(" ", partitions.Select(p =>
        {
            var w = consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10));
            return $"{p}:[{w.Low.Value},{w.High.Value})";
        }));
    }

    private static void Log(ITestOutputHelper output, string line)
    {
        try
        {
            output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // xunit refuses output after the test finished.
        }
    }

    private static string Header(ConsumeResult<byte[]?, byte[]> letter, string key) =>
        Encoding.UTF8.GetString(letter.Message.Headers.GetLastBytes(key));
}
