using EventPipeline.Stages.Events;
using EventPipeline.Tests.Infrastructure;
using EventPipeline.Tests.Integration;
using Xunit.Abstractions;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Tests.Operations;

/// <summary>
/// The worker's sink against a two-shard ClickHouse cluster through a Distributed table. With
/// ClickHouse:Settings:insert_distributed_sync=1 an INSERT is acknowledged only once every shard has its rows,
/// so the worker's promise (offsets committed only for rows ClickHouse holds) survives a shard outage; without
/// it the entry server acknowledges rows it has only queued for the missing shard.
/// </summary>
[Collection(KafkaCollection.Name)]
public sealed class DistributedSinkTests(KafkaFixture kafka, TwoShardCluster cluster, ITestOutputHelper output) : IClassFixture<TwoShardCluster>
{
    private static readonly Dictionary<string, string?> Sync = new() { ["ClickHouse:Settings:insert_distributed_sync"] = "1" };

    [Fact]
    public async Task Every_row_lands_on_exactly_one_shard()
    {
        const int count = 20_000;
        var (local, distributed) = await cluster.CreateTablesAsync();
        var topic = kafka.CreateTopic(partitions: 8);
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = 31 });
        var events = Enumerable.Range(0, count).Select(_ => generator.NextEvent()).ToList();
        kafka.ProduceAll(topic, events.Select(e => EventJsonWriter.Write(e)));

        await using var worker = RunningWorker.Start(kafka.BootstrapServers, topic, cluster.First.HttpUrl, distributed, output, Sync);
        await RunningWorker.WaitUntilAsync(() => Task.FromResult(worker.Worker.Inserted >= count), TimeSpan.FromSeconds(60),
            () => $"inserted {worker.Worker.Inserted}/{count}");
        await worker.StopAsync();

        // Synchronous: the moment the worker saw its last acknowledgement, both shards held their rows.
        var first = await TwoShardCluster.IdsAsync(cluster.First, local);
        var second = await TwoShardCluster.IdsAsync(cluster.Second, local);
        output.WriteLine($"shard 1: {first.Count} rows, shard 2: {second.Count} rows");
        Assert.Equal(count, worker.Worker.Inserted);
        Assert.Equal(count, first.Count + second.Count);
        Assert.InRange(first.Count, count / 3, count * 2 / 3); // rand() spreads the rows
        Assert.Empty(first.Intersect(second));
        Assert.True(events.Select(e => e.EventId).ToHashSet().SetEquals(first.Concat(second)));
        Assert.Equal(count, await cluster.First.CountAsync(distributed));
    }

    [Fact]
    public async Task With_insert_distributed_sync_nothing_is_lost_or_acknowledged_early_while_a_shard_is_down()
    {
        var (local, distributed, produced, acknowledgedBeyondShards, worker) = await RunWithShardOutageAsync(Sync);
        await using (worker)
        {
            // Every row the worker counted as inserted was on its shard at that moment.
            Assert.Equal(0, acknowledgedBeyondShards);
            var first = await TwoShardCluster.IdsAsync(cluster.First, local);
            var second = await TwoShardCluster.IdsAsync(cluster.Second, local);
            var ids = first.Concat(second).ToList();
            var duplicates = ids.Count - ids.Distinct().Count();
            var retries = Retries(worker);
            output.WriteLine($"produced {produced.Count}, stored {ids.Count} (shard 1 {first.Count}, {first.Count - first.Distinct().Count()} duplicates; " +
                $"shard 2 {second.Count}, {second.Count - second.Distinct().Count()} duplicates), worker inserted {worker.Worker.Inserted}, retried inserts {retries}");
            Assert.True(produced.SetEquals(ids), $"{produced.Except(ids).Count()} produced rows are missing");
            Assert.True(retries > 0, "the outage should have made inserts fail and retry");
            // At-least-once: an INSERT that reached shard 1 but not shard 2 fails and is retried whole, so shard 1
            // stores its part again. Nothing else may be duplicated: at most one batch (<= 1000 rows here) per retry.
            Assert.InRange(duplicates, 0, (long)retries * 1000);
        }
    }

    [Fact]
    public async Task Without_insert_distributed_sync_rows_are_acknowledged_before_the_missing_shard_has_them()
    {
        var (local, distributed, produced, acknowledgedBeyondShards, worker) = await RunWithShardOutageAsync(new Dictionary<string, string?>());
        await using (worker)
        {
            // The entry server queued shard 2's rows on its disk and answered 200: the worker committed their
            // offsets although shard 2 had not acknowledged them. They arrive later, from that queue only.
            output.WriteLine($"acknowledged but not on their shard during the outage: {acknowledgedBeyondShards}");
            Assert.True(acknowledgedBeyondShards > 0);
            await RunningWorker.WaitUntilAsync(async () => await cluster.First.CountAsync(distributed) >= produced.Count, TimeSpan.FromSeconds(60),
                () => "the queued rows never reached shard 2");
            var ids = (await TwoShardCluster.IdsAsync(cluster.First, local)).Concat(await TwoShardCluster.IdsAsync(cluster.Second, local)).ToList();
            Assert.True(produced.SetEquals(ids));
        }
    }

    /// <summary>
    /// Produces steadily, stops shard 2 for 10 s, starts it again, and waits until the worker has inserted
    /// everything. Returns, besides the tables and ids, the most rows the worker had acknowledged beyond those
    /// stored on the shards at any check during the outage.
    /// </summary>
    private async Task<(string Local, string Distributed, HashSet<Guid> Produced, long AcknowledgedBeyondShards, RunningWorker Worker)> RunWithShardOutageAsync(
        Dictionary<string, string?> overrides)
    {
        var (local, distributed) = await cluster.CreateTablesAsync();
        var topic = kafka.CreateTopic(partitions: 8);
        var produced = new HashSet<Guid>();
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = 41 });
        void ProduceSome()
        {
            var events = Enumerable.Range(0, 300).Select(_ => generator.NextEvent()).ToList();
            kafka.ProduceAll(topic, events.Select(e => EventJsonWriter.Write(e)));
            produced.UnionWith(events.Select(e => e.EventId));
        }

        overrides["Batch:Size"] = "1000";
        overrides["Batch:MaxLatencyMs"] = "100";
        var worker = RunningWorker.Start(kafka.BootstrapServers, topic, cluster.First.HttpUrl, distributed, output, overrides);
        ProduceSome();
        await RunningWorker.WaitUntilAsync(() => Task.FromResult(worker.Worker.Inserted >= 300), TimeSpan.FromSeconds(60), () => "nothing inserted");

        var secondAtStop = await DistinctAsync(cluster.Second, local);
        await cluster.Second.StopAsync();
        long beyond = 0;
        var outageEnds = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < outageEnds)
        {
            ProduceSome();
            await Task.Delay(500);
            // Read the worker first: a row it counts was acknowledged before the count below started.
            var acknowledged = worker.Worker.Inserted;
            var stored = await DistinctAsync(cluster.First, local) + secondAtStop;
            beyond = Math.Max(beyond, acknowledged - stored);
        }
        await cluster.Second.StartAgainAsync();
        for (var i = 0; i < 5; i++)
        {
            ProduceSome();
            await Task.Delay(200);
        }

        await RunningWorker.WaitUntilAsync(() => Task.FromResult(worker.Worker.Inserted >= produced.Count), TimeSpan.FromSeconds(90),
            () => $"inserted {worker.Worker.Inserted}/{produced.Count}");
        await worker.StopAsync();
        return (local, distributed, produced, beyond, worker);
    }

    private static async Task<long> DistinctAsync(EventPipeline.DevTools.LocalServers.LocalClickHouseServer shard, string table) =>
        long.Parse(await shard.QueryAsync($"SELECT uniqExact(event_id) FROM {table}"), System.Globalization.CultureInfo.InvariantCulture);

    private static double Retries(RunningWorker worker) =>
        new[] { "connection", "timeout", "server_error", "request_error", "too_many_parts" }.Sum(c => worker.Metrics.InsertRetries.WithLabels(c).Value);
}
