using System.Diagnostics;
using Confluent.Kafka;
using EventPipeline.Tests.Infrastructure;
using Xunit.Abstractions;

namespace EventPipeline.Tests.Integration;

/// <summary>
/// SIGTERM makes the worker drain, commit and leave: it exits 0 and its group's committed offsets cover every
/// message it inserted, so a successor starts exactly where it stopped.
/// </summary>
[Collection(KafkaAndClickHouseCollection.Name)]
public sealed class GracefulShutdownTests(KafkaFixture kafka, ClickHouseFixture clickHouse, ITestOutputHelper output)
{
    private const int Partitions = 16;
    private const int EventCount = 20_000;
    private const int DrainTimeoutSeconds = 20;

    [Fact]
    public async Task SIGTERM_exits_0_with_every_offset_committed()
    {
        var topic = kafka.CreateTopic(Partitions);
        var table = await clickHouse.CreateEventsTableAsync();
        var groupId = $"group-{Guid.NewGuid():N}";
        kafka.ProduceAll(topic, EndToEnd.Generate(EventCount, seed: 5).Select(m => m.Payload));

        using var worker = TestPipelineProcess.Start(
            EndToEnd.WorkerArgs(kafka.BootstrapServers, topic, groupId, clickHouse.Server.HttpUrl, table,
                ("Pipeline:DrainTimeoutSeconds", DrainTimeoutSeconds)),
            output);
        await EndToEnd.WaitUntilAsync(
            async () => await clickHouse.Server.CountAsync(table) >= EventCount, TimeSpan.FromSeconds(60), $"{EventCount} rows in {table}");
        var clock = Stopwatch.StartNew();
        worker.Terminate();
        var exitCode = await worker.WaitForExitAsync(TimeSpan.FromSeconds(DrainTimeoutSeconds + 10));
        output.WriteLine($"Exited {exitCode} {clock.ElapsedMilliseconds} ms after SIGTERM");

        var committed = ReadCommittedOffsets(topic, groupId);
        var (rows, distinct) = await EndToEnd.CountRowsAsync(clickHouse.Server, table);

        Assert.Equal(0, exitCode);
        Assert.Equal(EventCount, rows);
        Assert.Equal(EventCount, distinct);
        Assert.Equal(Partitions, committed.Count(offset => offset.Offset.Value >= 0));
        Assert.Equal(EventCount, committed.Sum(offset => offset.Offset.Value));
    }

    /// <summary>Asks the group coordinator for the group's offsets without joining the group.</summary>
    private List<TopicPartitionOffset> ReadCommittedOffsets(string topic, string groupId)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            GroupId = groupId,
            EnableAutoCommit = false,
        }).Build();
        var partitions = Enumerable.Range(0, Partitions).Select(p => new TopicPartition(topic, p));
        return consumer.Committed(partitions, TimeSpan.FromSeconds(30));
    }
}
