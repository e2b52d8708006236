using EventPipeline.Host;
using EventPipeline.Stages;
using EventPipeline.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace EventPipeline.Tests.Integration;

/// <summary>
/// Two workers in one group split the partitions between them; once the (cooperative) rebalance has settled,
/// every event is inserted exactly once, and both do a share of the work.
/// </summary>
[Collection(KafkaAndClickHouseCollection.Name)]
public sealed class TwoWorkersShareTheGroupTests(KafkaFixture kafka, ClickHouseFixture clickHouse, ITestOutputHelper output)
{
    private const int Partitions = 16;
    private const int EventCount = 40_000;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Each_event_is_inserted_exactly_once_and_both_workers_insert()
    {
        var topic = kafka.CreateTopic(Partitions);
        var table = await clickHouse.CreateEventsTableAsync();
        var settings = EndToEnd.LoadSettings(
            EndToEnd.WorkerArgs(kafka.BootstrapServers, topic, $"group-{Guid.NewGuid():N}", clickHouse.Server.HttpUrl, table));
        using var loggers = TestLogger.CreateFactory(output, LogLevel.Information);
        using var stop = new CancellationTokenSource();
        var first = new PipelineWorker(settings, new PipelineMetrics(Prometheus.Metrics.NewCustomRegistry()), loggers);
        var second = new PipelineWorker(settings, new PipelineMetrics(Prometheus.Metrics.NewCustomRegistry()), loggers);

        var firstRun = first.RunAsync(stop.Token);
        await EndToEnd.WaitUntilAsync(() => first.AssignedPartitions == Partitions || firstRun.IsCompleted, Timeout, "the first worker's assignment");
        var secondRun = second.RunAsync(stop.Token);
        // Readiness does not wait for partitions (an idle replica is ready); the rebalance has settled once the
        // two together hold every partition and each holds some.
        await EndToEnd.WaitUntilAsync(
            () => (first.AssignedPartitions > 0 && second.AssignedPartitions > 0 && first.AssignedPartitions + second.AssignedPartitions == Partitions)
                  || firstRun.IsCompleted || secondRun.IsCompleted,
            Timeout, "both workers holding partitions");
        kafka.ProduceAll(topic, EndToEnd.Generate(EventCount, seed: 7).Select(m => m.Payload));
        await EndToEnd.WaitUntilAsync(
            async () => await clickHouse.Server.CountAsync(table) >= EventCount || firstRun.IsCompleted || secondRun.IsCompleted,
            Timeout, $"{EventCount} rows");
        // Any duplicate would arrive in a later batch; stopping drains both workers, so the count after it sees it.
        await stop.CancelAsync();
        await Task.WhenAll(firstRun, secondRun).WaitAsync(Timeout);

        var (rows, distinct) = await EndToEnd.CountRowsAsync(clickHouse.Server, table);
        output.WriteLine($"rows {rows}, distinct {distinct}; first inserted {first.Inserted}, second inserted {second.Inserted}");
        Assert.Equal(EventCount, rows);
        Assert.Equal(EventCount, distinct);
        Assert.True(first.Inserted > 0, "the first worker inserted nothing");
        Assert.True(second.Inserted > 0, "the second worker inserted nothing");
        Assert.Equal(EventCount, first.Inserted + second.Inserted);
        Assert.Equal(0, first.InFlight + second.InFlight);
    }
}
