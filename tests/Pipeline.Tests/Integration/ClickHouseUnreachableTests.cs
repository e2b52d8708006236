using System.Diagnostics;
using EventPipeline.Host;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.Stages;
using EventPipeline.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace EventPipeline.Tests.Integration;

/// <summary>
/// ClickHouse dies for 20 s while events keep arriving: the worker retries, its queues fill to their bounds and
/// it pauses consumption instead of buffering without limit; once the server is back, every event arrives.
/// </summary>
[Collection(KafkaAndClickHouseCollection.Name)]
public sealed class ClickHouseUnreachableTests(KafkaFixture kafka, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Partitions = 16;
    private const int EventCount = 30_000;
    private const int ProduceChunks = 125; // one chunk every 200 ms: 25 s of traffic
    private const int QueueCapacity = 2000;
    private const int BatchSize = 1000;
    private const int MaxConcurrentInserts = 2;

    /// <summary>
    /// Messages the worker can hold uncommitted at once, stage by stage: the decode block (a TransformBlock, whose
    /// BoundedCapacity counts its input, the messages being decoded and its output) holds at most QueueCapacity;
    /// the batch stage's input buffer QueueCapacity more; the batch being filled, or waiting for the sink to take
    /// it, BatchSize; the sink block (BoundedCapacity = MaxDegreeOfParallelism = MaxConcurrentInserts, the
    /// batches being inserted included) MaxConcurrentInserts batches. The source pauses every partition on the
    /// first message the decode block refuses and keeps that one message; pausing discards what librdkafka had
    /// fetched for those partitions. No message is malformed, so the dead-letter stage holds none.
    /// </summary>
    private const long InFlightBound = QueueCapacity + QueueCapacity + BatchSize + (MaxConcurrentInserts * BatchSize) + 1;

    /// <summary>
    /// Live managed memory of the whole test process (measured after a full collection: uncollected garbage says
    /// nothing about boundedness). Generous: the process holds the generated events (~15 MB), the shared clients
    /// and whatever earlier tests of the run still reference.
    /// </summary>
    private const long ManagedMemoryBound = 512L * 1024 * 1024;

    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    // A server of its own, not the collection's: this test stops and restarts it.
    private readonly ClickHouseFixture _clickHouse = new();

    public Task InitializeAsync() => _clickHouse.InitializeAsync();

    public Task DisposeAsync() => _clickHouse.DisposeAsync();

    [Fact]
    public async Task Consumption_pauses_with_bounded_memory_and_nothing_is_lost()
    {
        var server = _clickHouse.Server;
        var topic = kafka.CreateTopic(Partitions);
        const string table = "events";
        await server.QueryAsync(ClickHouseFixture.EventsTableDdl(table));
        var settings = EndToEnd.LoadSettings(EndToEnd.WorkerArgs(kafka.BootstrapServers, topic, $"group-{Guid.NewGuid():N}", server.HttpUrl, table,
            ("Pipeline:QueueCapacity", QueueCapacity), ("Batch:Size", BatchSize), ("ClickHouse:MaxConcurrentInserts", MaxConcurrentInserts),
            ("ClickHouse:RequestTimeoutSeconds", 5)));
        var messages = EndToEnd.Generate(EventCount, seed: 13);
        using var loggers = TestLogger.CreateFactory(output, LogLevel.Information);
        using var stop = new CancellationTokenSource();
        var worker = new PipelineWorker(settings, new PipelineMetrics(Prometheus.Metrics.NewCustomRegistry()), loggers);
        var run = worker.RunAsync(stop.Token);
        await EndToEnd.WaitUntilAsync(() => worker.AssignedPartitions > 0 || run.IsCompleted, Timeout, "the worker's assignment");

        var producing = Task.Run(async () =>
        {
            foreach (var chunk in messages.Chunk(EventCount / ProduceChunks))
            {
                kafka.ProduceAll(topic, chunk.Select(m => m.Payload));
                await Task.Delay(TimeSpan.FromMilliseconds(200));
            }
        });
        // The outage starts once inserts are flowing, so that it interrupts a running pipeline.
        await EndToEnd.WaitUntilAsync(async () => await server.CountAsync(table) > 0 || run.IsCompleted, Timeout, "the first inserted rows");
        server.Kill();
        var down = await ObserveAsync(worker, Outage);
        await server.StartAgainAsync();
        await producing.WaitAsync(Timeout);
        await EndToEnd.WaitUntilAsync(
            async () => (await EndToEnd.CountRowsAsync(server, table)).Distinct >= EventCount || run.IsCompleted, Timeout, $"{EventCount} distinct events");
        await stop.CancelAsync();
        await run.WaitAsync(Timeout);

        var (rows, distinct) = await EndToEnd.CountRowsAsync(server, table);
        output.WriteLine($"While down: paused {down.Paused}, ready {down.Ready}, max in flight {down.MaxInFlight} (bound {InFlightBound}), " +
            $"max managed memory {down.MaxMemory / (1024 * 1024)} MiB; rows {rows}, distinct {distinct}, duplicates {rows - distinct}");
        Assert.True(down.Paused, "the worker never paused consumption while ClickHouse was down");
        Assert.True(down.Ready == false, "the worker stayed ready while ClickHouse was down");
        Assert.InRange(down.MaxInFlight, 1, InFlightBound);
        Assert.InRange(down.MaxMemory, 1, ManagedMemoryBound);
        Assert.Equal(EventCount, distinct);
        Assert.True(rows >= distinct);
        Assert.Equal(0, worker.InFlight);
    }

    private static async Task<Observation> ObserveAsync(PipelineWorker worker, TimeSpan duration)
    {
        var observation = new Observation();
        var clock = Stopwatch.StartNew();
        var sample = 0;
        while (clock.Elapsed < duration)
        {
            observation.Paused |= worker.IsPaused;
            observation.Ready &= worker.IsReady;
            observation.MaxInFlight = Math.Max(observation.MaxInFlight, worker.InFlight);
            if (sample++ % 20 == 0) // a full collection once a second, not every 50 ms
                observation.MaxMemory = Math.Max(observation.MaxMemory, GC.GetTotalMemory(forceFullCollection: true));
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }

        return observation;
    }

    private sealed class Observation
    {
        public bool Paused { get; set; }

        /// <summary>Stays true only if the worker reported ready at every sample.</summary>
        public bool Ready { get; set; } = true;

        public long MaxInFlight { get; set; }

        public long MaxMemory { get; set; }
    }
}
