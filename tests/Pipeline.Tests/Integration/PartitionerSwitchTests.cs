using System.Text;
using Confluent.Kafka;
using EventPipeline.DevTools.Events;
using EventPipeline.DevTools.Generation;
using EventPipeline.Host;
using EventPipeline.Stages;
using EventPipeline.Stages.Partitioning;
using EventPipeline.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace EventPipeline.Tests.Integration;

/// <summary>
/// Producers that change how they partition while a worker consumes: a restart with another --partitioner, and a
/// learned policy that fails in the middle of a run and falls back to PKG. Offsets are per partition, so a new strategy
/// only changes where the next messages go: every event still arrives exactly once.
/// </summary>
[Collection(KafkaAndClickHouseCollection.Name)]
public sealed class PartitionerSwitchTests(KafkaFixture kafka, ClickHouseFixture clickHouse, ITestOutputHelper output)
{
    private const int Partitions = 32;
    private const int EventsPerProducer = 15_000;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Switching_strategy_while_events_flow_loses_and_duplicates_nothing()
    {
        var topic = kafka.CreateTopic(Partitions);
        var table = await clickHouse.CreateEventsTableAsync();
        var settings = EndToEnd.LoadSettings(
            EndToEnd.WorkerArgs(kafka.BootstrapServers, topic, $"group-{Guid.NewGuid():N}", clickHouse.Server.HttpUrl, table));
        using var loggers = TestLogger.CreateFactory(output, LogLevel.Warning);
        using var stop = new CancellationTokenSource();
        var worker = new PipelineWorker(settings, new PipelineMetrics(Prometheus.Metrics.NewCustomRegistry()), loggers);
        var run = worker.RunAsync(stop.Token);
        await EndToEnd.WaitUntilAsync(() => worker.AssignedPartitions == Partitions || run.IsCompleted, Timeout, "the worker's assignment");

        var failingPolicy = new ThrowsOnThirdDecision();
        (PartitionerOptions Options, IFanOutPolicy? Policy)[] producers =
        [
            (new PartitionerOptions { Strategy = PartitionStrategy.Hash }, null),
            (new PartitionerOptions { Strategy = PartitionStrategy.PartialKeyGrouping }, null),
            (new PartitionerOptions { Strategy = PartitionStrategy.BoundedLoad }, null),
            (new PartitionerOptions { Strategy = PartitionStrategy.Learned, DecisionIntervalMessages = 2048 }, failingPolicy),
        ];
        var spreads = new List<KeySpread>();
        for (int i = 0; i < producers.Length; i++)
        {
            var summary = await EventProducer.ProduceAsync(new ProduceRequest(kafka.BootstrapServers, topic, EventsPerProducer,
                new EventGeneratorOptions { Seed = 100 + i, AppCount = 200, AppSkew = 1.5 }, RatePerSecond: 20_000,
                Partitioning: producers[i].Options, LearnedPolicy: producers[i].Policy), progress: null, CancellationToken.None);
            spreads.Add(summary.KeySpread!);
            output.WriteLine($"{PartitionStrategyNames.NameOf(producers[i].Options.Strategy)}: max partitions per app {summary.KeySpread!.MaxPartitionsPerKey}");
        }
        Assert.True(failingPolicy.Calls >= 3, "the learned producer's policy failed in the middle of its run");

        int total = EventsPerProducer * producers.Length;
        await EndToEnd.WaitUntilAsync(async () => await clickHouse.Server.CountAsync(table) >= total || run.IsCompleted, Timeout, $"{total} rows");
        await stop.CancelAsync();
        await run.WaitAsync(Timeout);

        var (rows, distinct) = await EndToEnd.CountRowsAsync(clickHouse.Server, table);
        Assert.Equal(total, rows);
        Assert.Equal(total, distinct);
        Assert.Equal(1, spreads[0].MaxPartitionsPerKey); // hash kept every app on one partition
        Assert.Equal(2, spreads[1].MaxPartitionsPerKey); // PKG on two at most
        Assert.Equal(0, worker.InFlight);
    }

    [Fact]
    public async Task The_hash_strategy_places_each_key_where_librdkafkas_default_partitioner_does()
    {
        const int partitions = 24;
        var topic = kafka.CreateTopic(partitions);
        var config = new ProducerConfig { BootstrapServers = kafka.BootstrapServers }; // partitioner: consistent_random, librdkafka's default
        using var producer = new ProducerBuilder<byte[], byte[]>(config).Build();
        var hash = new HashPartitioner(partitions);
        var keys = Enumerable.Range(0, 300).Select(i => $"com.studio{i % 7}.app{i}").Append("").Append("é東京🎮").Where(k => k.Length > 0).ToList();
        foreach (var key in keys)
        {
            var bytes = Encoding.UTF8.GetBytes(key);
            var delivered = await producer.ProduceAsync(topic, new Message<byte[], byte[]> { Key = bytes, Value = [1] });
            Assert.Equal(delivered.Partition.Value, hash.Choose(bytes));
        }
    }

    private sealed class ThrowsOnThirdDecision : IFanOutPolicy
    {
        public int Calls { get; private set; }

        public string Name => "throws-on-third-decision";

        public void Decide(FanOutState state, Span<int> fanOuts)
        {
            if (++Calls == 3)
                throw new InvalidOperationException("broken on purpose");
            for (int i = 0; i < fanOuts.Length; i++)
                fanOuts[i] = Math.Min(8, state.PartitionCount);
        }
    }
}
