using System.Diagnostics;
using System.Globalization;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.Host;
using EventPipeline.Stages;

namespace EventPipeline.Bench.Batching;

/// <summary>
/// One policy on the real pipeline: a fresh mock Kafka cluster and table, the worker(s) as production runs them
/// (<c>pipeline run</c> processes, one consumer group) started and assigned every partition first, then the paced
/// producer, sampled once a second (/metrics, /latency?interval=true, system.parts), until every produced row is in.
/// Each run starts with a warm-up (a light load until its rows are in: the JIT, the first connections through a proxy),
/// then resets the worker's latency windows (POST /latency/reset), so that its cumulative /latency at the end is
/// exactly the measured rows, and counts metrics and telemetry from there.
/// </summary>
internal static class PipelineRun
{
    private const string Database = BenchEnvironment.Database;
    private const string Topic = "events";
    private const double WarmUpSeconds = 5, WarmUpRate = 10_000;

    public static async Task<PolicyRun> RunAsync(BatchingOptions options, BenchLoad load, ProfileSetup setup, PolicySpec spec, int repetition, int order,
        LocalClickHouseServer server, string logDir, CancellationToken ct)
    {
        using var kafka = MockKafkaCluster.Start(brokers: 1);
        kafka.SetInitialRebalanceDelay(TimeSpan.Zero);
        kafka.CreateTopic(Topic, options.Partitions);
        kafka.CreateTopic(Topic + ".dlq", 4);
        var table = $"batching_{Guid.NewGuid():N}"[..18];
        var qualified = $"{Database}.{table}";
        await server.QueryAsync(EventsTable.CreateStatement(qualified) + (setup.TableSettings.Length > 0 ? $"\nSETTINGS {setup.TableSettings}" : ""), ct);
        await using var proxy = setup.ProxyDelay is { } delay
            ? DelayingTcpProxy.Start(new DelayingTcpProxyOptions
            {
                TargetHost = "127.0.0.1", TargetPort = server.HttpPort, UpstreamDelay = delay, DownstreamDelay = delay, BytesPerSecond = setup.ProxyBytesPerSecond,
            })
            : null;
        var clickHouseUrl = proxy?.Wrap(server.HttpUrl) ?? server.HttpUrl;
        // One group for all workers: they split the partitions, as replicas of one deployment do.
        string[] settings =
        [
            .. spec.Arguments, $"Kafka:GroupId=bench_batching_{Guid.NewGuid():N}",
            .. options.MaxLatencyMs is { } maxLatency ? [$"Batch:MaxLatencyMs={maxLatency.ToString(CultureInfo.InvariantCulture)}"] : Array.Empty<string>(),
            // Several members: a short session makes the mock's rebalances settle in seconds (as the partitioning bench does).
            .. setup.Workers > 1 ? ["Kafka:Properties:session.timeout.ms=6000", "Kafka:Properties:heartbeat.interval.ms=500"] : Array.Empty<string>(),
        ];
        var workerNames = Enumerable.Range(0, setup.Workers).Select(i => $"{load.Name}-{spec.Name}-r{repetition}-w{i}-{table}").ToList();
        var workers = workerNames.Select((name, i) => BenchWorker.Start(kafka.BootstrapServers, Topic, clickHouseUrl, Database, table,
            $"{spec.Name}-r{repetition}-w{i}", Path.Combine(logDir, $"{load.Name}-{spec.Name}-r{repetition}-w{i}.log"), [.. settings, .. RecordedInsert.Settings(name)])).ToList();
        var before = await ServerEventsAsync(server, ct);
        var warmUp = new PacedProducer();
        var producer = new PacedProducer();
        var baseline = new Totals(0, 0, 0, 0);
        var measuredSinceUtc = DateTime.UtcNow;
        var series = new List<SeriesPoint>();
        var ok = true;
        double drain = double.NaN, finished = 0;
        IReadOnlyList<EndToEndLatencySnapshot> cumulative = [];
        var lastMetrics = new List<string>();
        try
        {
            await Task.WhenAll(workers.Select(w => w.WaitReadyAsync(TimeSpan.FromMinutes(1), ct)));
            await WaitAssignedAsync(workers, options.Partitions, ct);
            await Task.Run(() => warmUp.RunAsync(kafka.BootstrapServers, Topic, options.Partitions,
                BenchLoad.Constant(Math.Min(WarmUpRate, load.Rate(0.5)), WarmUpSeconds), ct), ct);
            baseline = await WaitInsertedAsync(workers, warmUp.Produced, ct);
            await Task.WhenAll(workers.Select(w => w.ResetLatencyAsync(ct)));
            measuredSinceUtc = DateTime.UtcNow;
            var clock = Stopwatch.StartNew();
            var producing = Task.Run(() => producer.RunAsync(kafka.BootstrapServers, Topic, options.Partitions, load, ct), ct);
            var previous = new Totals(0, 0, 0, 0);
            var next = 1.0;
            while (true)
            {
                var wait = next - clock.Elapsed.TotalSeconds;
                if (wait > 0)
                    await Task.Delay(TimeSpan.FromSeconds(wait), ct);
                var now = clock.Elapsed.TotalSeconds;
                var produced = producer.Produced;
                lastMetrics = [.. await Task.WhenAll(workers.Select(w => w.MetricsAsync(ct)))];
                var latency = await Task.WhenAll(workers.Select(w => w.LatencyAsync(interval: true, ct)));
                var current = Totals.Of(lastMetrics, produced) - baseline;
                var seconds = now - (next - 1.0);
                var batches = current.Batches - previous.Batches;
                series.Add(new SeriesPoint(Math.Round(now, 2), Math.Round((current.Produced - previous.Produced) / seconds), Math.Round((current.Inserted - previous.Inserted) / seconds),
                    batches, batches > 0 ? Math.Round((current.BatchRows - previous.BatchRows) / batches) : null,
                    Math.Round(lastMetrics.Average(m => BenchWorker.Sum(m, "pipeline_batch_target_size"))), current.Produced - current.Inserted,
                    await ActivePartsAsync(server, table, ct), latency.Max(l => l.P50Ms), latency.Max(l => l.P99Ms), latency.Max(l => l.MaxMs)));
                previous = current;
                next += 1.0;
                if (producing.IsCompleted)
                {
                    await producing; // rethrows a produce failure
                    if (current.Inserted >= current.Produced)
                    {
                        finished = series.LastOrDefault(s => s.InsertedPerSecond > 0)?.T ?? now; // the last second that inserted rows
                        drain = Math.Max(0, finished - load.Seconds);
                        break;
                    }
                    if (now > load.Seconds + 120)
                    {
                        ok = false;
                        Console.Error.WriteLine($"{spec.Name}: {current.Inserted} of {current.Produced} rows inserted 120 s after the load ended");
                        finished = now;
                        break;
                    }
                }
            }
            cumulative = await Task.WhenAll(workers.Select(w => w.LatencyAsync(interval: false, ct)));
            if (lastMetrics.Sum(m => BenchWorker.Sum(m, "pipeline_kafka_offset_resets_total")) is > 0 and var resets)
            {
                ok = false; // the mock broker trimmed a partition past a worker's position: rows were skipped, the latencies are not valid
                Console.Error.WriteLine($"{spec.Name}: the workers reset {resets} offsets (fell behind the broker's retention)");
            }
        }
        finally
        {
            ok &= await StopAllAsync(workers);
        }
        var count = await server.CountAsync(qualified, ct) - warmUp.Produced;
        if (count != producer.Produced)
        {
            ok = false;
            Console.Error.WriteLine($"{spec.Name}: {count} rows in the table after the warm-up's {warmUp.Produced}, {producer.Produced} produced");
        }
        var after = await ServerEventsAsync(server, ct);
        await server.QueryAsync($"DROP TABLE IF EXISTS {qualified}", CancellationToken.None);
        var inserts = await RecordedInsert.ReadAsync(server, Database, workerNames, measuredSinceUtc, ct);
        var flushes = (Totals.Of(lastMetrics, 0) - baseline).Batches;
        // One worker: its exact percentiles. Several: the highest worker's, an upper bound of the pooled percentile.
        double Worst(Func<EndToEndLatencySnapshot, long?> value) => cumulative.Select(value).Max() ?? double.NaN;
        var measured = new PolicyNumbers(Math.Round(count / Math.Max(load.Seconds, finished), 1), Worst(l => l.P50Ms), Worst(l => l.P95Ms), Worst(l => l.P99Ms),
            Worst(l => l.MaxMs), PolicyNumbers.InsertRate(flushes, load.Seconds, drain), flushes);
        return new PolicyRun(repetition, order, spec.Name, producer.Produced, count, Math.Round(drain, 2), after.InsertQueries - before.InsertQueries,
            after.DelayedInserts - before.DelayedInserts, after.RejectedInserts - before.RejectedInserts, series.Count == 0 ? 0 : series.Max(s => s.ActiveParts),
            Backlog(load, series), measured, cumulative, ok && cumulative.Count == setup.Workers, series, inserts);
    }

    private sealed record Totals(long Produced, long Inserted, long Batches, double BatchRows)
    {
        /// <summary>Rows inserted and batches flushed by all workers, from their /metrics.</summary>
        public static Totals Of(IEnumerable<string> metrics, long produced)
        {
            var all = metrics.ToList();
            return new(produced, (long)all.Sum(m => BenchWorker.Sum(m, "pipeline_clickhouse_rows_total")),
                (long)all.Sum(m => BenchWorker.Sum(m, "pipeline_batch_size_count")), all.Sum(m => BenchWorker.Sum(m, "pipeline_batch_size_sum")));
        }

        /// <summary>What happened after <paramref name="baseline"/> (the warm-up); the produced count is the run's own.</summary>
        public static Totals operator -(Totals current, Totals baseline) =>
            new(current.Produced, current.Inserted - baseline.Inserted, current.Batches - baseline.Batches, current.BatchRows - baseline.BatchRows);
    }

    /// <summary>Until the workers have inserted <paramref name="rows"/> (the warm-up's); returns their totals then.</summary>
    private static async Task<Totals> WaitInsertedAsync(List<BenchWorker> workers, long rows, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var totals = Totals.Of(await Task.WhenAll(workers.Select(w => w.MetricsAsync(ct))), 0);
            if (totals.Inserted >= rows)
                return totals;
            foreach (var worker in workers)
                worker.ThrowIfExited();
            if (clock.Elapsed > TimeSpan.FromSeconds(60))
                throw new TimeoutException($"the workers inserted {totals.Inserted} of the warm-up's {rows} rows in 60 s");
            await Task.Delay(200, ct);
        }
    }

    private sealed record ServerEvents(long InsertQueries, long DelayedInserts, long RejectedInserts);

    /// <summary>
    /// SIGTERM to every worker at once, then each must drain and exit 0; disposing kills one that did not. Stopping them
    /// one by one hands the leaver's partitions to the others mid-shutdown, and on the mock broker that rebalance held a
    /// worker past a 60 s stop in a smoke run.
    /// </summary>
    /// <returns>False when a worker failed or did not stop.</returns>
    private static async Task<bool> StopAllAsync(List<BenchWorker> workers)
    {
        var ok = true;
        foreach (var (worker, stopped) in workers.Zip(workers.Select(w => CaptureAsync(w.StopAsync()))).ToList())
        {
            if (await stopped is { } error)
            {
                ok = false;
                Console.Error.WriteLine($"{worker.Process.Name}: {error.Message}");
            }
            else if (worker.Process.ExitCode != 0)
            {
                ok = false;
                Console.Error.WriteLine($"{worker.Process.Name} exited with {worker.Process.ExitCode}: {worker.Process.Tail}");
            }
            worker.Dispose();
        }
        return ok;
    }

    private static async Task<Exception?> CaptureAsync(Task task)
    {
        try
        {
            await task;
            return null;
        }
        catch (TimeoutException ex)
        {
            return ex;
        }
    }

    /// <summary>Saturation: how long after the overload the backlog took to fall to one second of the arrivals after it.</summary>
    private static BacklogDrain? Backlog(BenchLoad load, List<SeriesPoint> series)
    {
        if (load.OverloadEndsSeconds is not { } end || series.Count == 0)
            return null;
        var allowed = load.Rate(end + 0.001);
        var drained = series.FirstOrDefault(s => s.T >= end && s.BacklogRows <= allowed);
        var draining = series.Where(s => s.T >= end && (drained is null || s.T <= drained.T)).ToList();
        return new BacklogDrain(series.Max(s => s.BacklogRows), drained is null ? null : Math.Round(drained.T - end, 2),
            draining.Select(s => s.P99Ms).Max());
    }

    /// <summary>
    /// Until every worker holds partitions, together all of them, unchanged for 2 s: the sum alone is reached while the
    /// first worker still holds everything and the others have not joined, and the rebalances that follow during the
    /// load re-deliver uncommitted rows (a smoke run with 3 workers inserted 4% duplicates that way).
    /// </summary>
    private static async Task WaitAssignedAsync(List<BenchWorker> workers, int partitions, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var stableSince = TimeSpan.Zero;
        double[] previous = [];
        while (true)
        {
            var metrics = await Task.WhenAll(workers.Select(w => w.MetricsAsync(ct)));
            var assigned = metrics.Select(m => BenchWorker.Sum(m, "pipeline_kafka_assigned_partitions")).ToArray();
            var complete = assigned.Sum() == partitions && assigned.All(a => a > 0);
            if (!complete || !assigned.SequenceEqual(previous))
                stableSince = clock.Elapsed;
            else if (clock.Elapsed - stableSince >= TimeSpan.FromSeconds(2))
                return;
            previous = assigned;
            foreach (var worker in workers)
                worker.ThrowIfExited();
            if (clock.Elapsed > TimeSpan.FromSeconds(90))
                throw new TimeoutException($"the workers hold {string.Join(" + ", assigned)} of {partitions} partitions after 90 s, not yet stable");
            await Task.Delay(100, ct);
        }
    }

    private static async Task<long> ActivePartsAsync(LocalClickHouseServer server, string table, CancellationToken ct) =>
        long.Parse((await server.QueryAsync(
            $"SELECT count() FROM system.parts WHERE database = '{Database}' AND table = '{table}' AND active FORMAT TabSeparated", ct)).Trim(), CultureInfo.InvariantCulture);

    /// <summary>Server-wide counters (system.events; an event the server has not counted yet is absent: 0).</summary>
    private static async Task<ServerEvents> ServerEventsAsync(LocalClickHouseServer server, CancellationToken ct)
    {
        var text = await server.QueryAsync(
            "SELECT event, value FROM system.events WHERE event IN ('InsertQuery', 'DelayedInserts', 'RejectedInserts') FORMAT TabSeparated", ct);
        var values = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t'))
            .ToDictionary(f => f[0], f => long.Parse(f[1], CultureInfo.InvariantCulture));
        return new ServerEvents(values.GetValueOrDefault("InsertQuery"), values.GetValueOrDefault("DelayedInserts"), values.GetValueOrDefault("RejectedInserts"));
    }
}
