using System.Diagnostics;
using EventPipeline.Bench.E2e;
using EventPipeline.DevTools.Events;
using EventPipeline.DevTools.Generation;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.Models.Partitioning;
using EventPipeline.Stages.Partitioning;

namespace EventPipeline.Bench.Partitioning;

/// <summary>
/// The producer partitioning strategies on the real pipeline: per repetition, a fresh topic is consumed by two fresh worker
/// processes in one group, each pinned to its own core, and for each workload (Zipf-skewed app_ids, a flash crowd, hot
/// apps that move) and strategy the generator produces a run at a fixed rate with that strategy. Per run: the producer's exact messages per
/// partition (Gini, hottest/mean), key spread, each worker's share of the rows and highest lag, each worker's exact p99
/// (GET /latency), throughput and the drain after the load. Strategies are interleaved in a random order within each
/// repetition and workload, and a repetition's runs all get the same events (same seed), so that differences are paired.
/// </summary>
internal static class PartitioningBenchmark
{
    private const string Database = BenchEnvironment.Database;

    public static async Task<int> RunAsync(PartitioningOptions options)
    {
        using var interrupt = ConsoleInterrupt.Create();
        var ct = interrupt.Token;
        var startedUtc = DateTime.UtcNow;
        IFanOutPolicy? learned = options.Strategies.Contains("ppo") ? PpoFanOutPolicy.Load(LearnedModelPath(options)) : null;
        await using var environment = await BenchEnvironment.StartAsync("partitioning", kafkaBrokers: 3, ct);
        var runs = new List<PartitioningRun>();
        var failures = new List<string>();
        var slowStops = new SlowStops();
        for (var repetition = 1; repetition <= options.Repeat; repetition++)
        {
            try
            {
                runs.AddRange(await RunRepetitionAsync(environment.Kafka, environment.Server, options, repetition, learned, environment.LogDirectory, slowStops, ct));
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
            {
                // Its runs are left out (a repetition's strategies are compared together); the reason goes into the report.
                failures.Add($"repetition {repetition}: {ex.Message}");
                Console.Error.WriteLine($"repetition {repetition} failed and is left out: {ex.Message}");
            }
        }
        if (runs.Count == 0)
            throw new InvalidOperationException($"every repetition failed: {string.Join("; ", failures)}");
        var report = PartitioningReport.Create(startedUtc, options, environment.ServerVersion, learned is PpoFanOutPolicy ppo ? ppo.Version : null, runs, failures,
            slowStops.Count);
        report.Print();
        Console.WriteLine($"Wrote {string.Join(", ", report.Write(options.OutputDirectory))}");
        environment.Succeeded();
        return 0;
    }

    private static string LearnedModelPath(PartitioningOptions options) =>
        options.ModelPath.Length > 0 ? options.ModelPath : PartitionerArtifact.DefaultDirectory;

    /// <summary>
    /// Two fresh workers on a fresh topic and table, then every workload and strategy once, strategies in a random order
    /// drawn anew for each repetition and workload. Each run waits for all its rows before the next starts, so each run's
    /// latency, lag and rows are its own.
    /// </summary>
    private static async Task<List<PartitioningRun>> RunRepetitionAsync(MockKafkaCluster kafka, LocalClickHouseServer server, PartitioningOptions options,
        int repetition, IFanOutPolicy? learned, string logDir, SlowStops slowStops, CancellationToken ct)
    {
        var topic = $"partitioning_{repetition}";
        kafka.CreateTopic(topic, options.Partitions);
        var table = await BenchTables.CreateAsync(server, Database, "partitioning", ct);
        try
        {
            // One after the other, as a deployment scales out.
            using var first = await StartWorkerAsync(kafka, server, table, topic, $"{topic}-w0", core: 0, options, logDir, ct);
            await WaitForAssignmentAsync([first], options.Partitions, ct);
            using var second = await StartWorkerAsync(kafka, server, table, topic, $"{topic}-w1", core: 1, options, logDir, ct);
            BenchWorker[] workers = [first, second];
            await WaitForAssignmentAsync(workers, options.Partitions, ct);

            var runs = new List<PartitioningRun>();
            long visibleBefore = 0;
            for (int w = 0; w < options.Workloads.Count; w++)
            {
                foreach (var strategy in RunOrder.Shuffled(options.Strategies, seed: (repetition * 31) + w))
                {
                    var run = await RunOnceAsync(server, workers, $"{Database}.{table}", kafka.BootstrapServers, topic, options, options.Workloads[w], strategy,
                        repetition, learned, visibleBefore, ct);
                    visibleBefore += run.Events;
                    runs.Add(run);
                    Console.WriteLine(run.Describe());
                }
            }
            await Task.WhenAll(workers.Select(w => StopOrKillAsync(w, slowStops)));
            // A duplicate inserted by the stop's drain would show here.
            var count = await server.CountAsync($"{Database}.{table}", ct);
            if (count != visibleBefore)
                throw new InvalidOperationException($"{table} holds {count:N0} rows after the workers stopped, not the {visibleBefore:N0} produced");
            return runs;
        }
        finally
        {
            await BenchTables.DropAsync(server, Database, table);
        }
    }

    private static async Task<PartitioningRun> RunOnceAsync(LocalClickHouseServer server, BenchWorker[] workers, string qualifiedTable, string bootstrapServers,
        string topic, PartitioningOptions options, string workloadName, string strategyName, int repetition, IFanOutPolicy? learned, long visibleBefore,
        CancellationToken ct)
    {
        PartitionStrategyNames.TryParse(strategyName, out var strategy);
        var workload = PartitioningWorkload.Get(workloadName, options.Apps);
        // The same events for every strategy of a repetition: differences between strategies are paired.
        var request = new ProduceRequest(bootstrapServers, topic, options.Events,
            new EventGeneratorOptions { Seed = 1000 + repetition, AppCount = options.Apps, UserCount = 200_000, AppSkew = 0 },
            RatePerSecond: options.Rate, Partitioning: new PartitionerOptions { Strategy = strategy }, LearnedPolicy: learned,
            AppWeightsAt: workload.WeightsAt);

        var rowsBefore = new double[workers.Length];
        var insertsBefore = new double[workers.Length];
        for (int i = 0; i < workers.Length; i++)
        {
            await workers[i].LatencyAsync(interval: true, ct); // what came before this run, dropped
            var metrics = await workers[i].MetricsAsync(ct);
            rowsBefore[i] = BenchWorker.Sum(metrics, "pipeline_clickhouse_rows_total");
            insertsBefore[i] = BenchWorker.Sum(metrics, "pipeline_batch_size_count");
        }
        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var lagSampler = SampleMaxLagAsync(workers, sampling.Token);
        var clock = Stopwatch.StartNew();
        var summary = await Task.Run(() => EventProducer.ProduceAsync(request, null, ct), ct);
        var produced = clock.Elapsed;
        await BenchTables.WaitForRowsAsync(server, qualifiedTable, visibleBefore + options.Events, options.DrainTimeout, workers[0], ct);
        var visible = clock.Elapsed;
        await sampling.CancelAsync();
        var maxLag = await lagSampler;

        var latencies = new List<Stages.EndToEndLatencySnapshot>();
        var rows = new double[workers.Length];
        var owner = new Dictionary<int, int>();
        double inserts = 0;
        for (int i = 0; i < workers.Length; i++)
        {
            workers[i].ThrowIfExited();
            latencies.Add(await workers[i].LatencyAsync(interval: true, ct));
            var metrics = await workers[i].MetricsAsync(ct);
            foreach (var partition in AssignedPartitions(metrics, topic))
                owner[partition] = i;
            if (BenchWorker.Sum(metrics, "pipeline_kafka_offset_resets_total") is > 0 and var resets)
                throw new InvalidOperationException($"{workers[i].Process.Name} reset {resets} offsets: it fell behind the broker's retention and skipped events; the run is not valid");
            rows[i] = BenchWorker.Sum(metrics, "pipeline_clickhouse_rows_total") - rowsBefore[i];
            inserts += BenchWorker.Sum(metrics, "pipeline_batch_size_count") - insertsBefore[i];
        }

        var sent = summary.Partitioner!.Sent.ToArray().Select(c => (double)c).ToArray();
        var p99s = latencies.Select(l => l.P99Ms ?? 0).ToArray();
        return new PartitioningRun(workloadName, strategyName, repetition, options.Events,
            Math.Round(LoadBalance.Gini(sent), 4), Math.Round(LoadBalance.HottestOverMean(sent), 3), sent.Count(c => c == 0),
            Math.Round(summary.KeySpread!.MeanPartitionsPerKey, 3), Math.Round(summary.KeySpread.MessageWeightedPartitionsPerKey, 3), summary.KeySpread.MaxPartitionsPerKey,
            Math.Round(rows.Max() / Math.Max(rows.Sum(), 1), 4), maxLag, p99s, p99s.Max(), latencies.Max(l => l.P50Ms ?? 0), latencies.Max(l => l.MaxMs ?? 0),
            Math.Round(options.Events / visible.TotalSeconds), Math.Round((visible - produced).TotalSeconds, 2), Math.Round(rows.Sum() / Math.Max(inserts, 1)),
            Math.Round(summary.KeySpread.MessageWeightedOwnersPerKey(p => owner.GetValueOrDefault(p, -1)), 3),
            (summary.Partitioner as FanOutPartitioner)?.FallbackReason);
    }

    /// <summary>The partitions a worker holds: it exports a lag gauge for each (pipeline_kafka_consumer_lag{topic, partition}).</summary>
    private static IEnumerable<int> AssignedPartitions(string metrics, string topic)
    {
        var prefix = $"pipeline_kafka_consumer_lag{{topic=\"{topic}\",partition=\"";
        foreach (var line in metrics.Split('\n'))
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
                yield return int.Parse(line.AsSpan(prefix.Length, line.IndexOf('"', prefix.Length) - prefix.Length), System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    private static async Task<BenchWorker> StartWorkerAsync(MockKafkaCluster kafka, LocalClickHouseServer server, string table, string topic, string name, int core,
        PartitioningOptions options, string logDir, CancellationToken ct)
    {
        // Heartbeats every 500 ms: the embedded broker completes the cooperative rebalance's second round only when the
        // first member next heartbeats, every 3 s by default (a real broker's coordinator answers at once). A 15 s session
        // (below the default 45 s) still survives a worker starved of CPU for seconds on these 2 shared cores.
        var worker = BenchWorker.Start(kafka.BootstrapServers, topic, server.HttpUrl, Database, table, name, Path.Combine(logDir, $"{name}.log"),
            [$"Kafka:GroupId={topic}-group", "Kafka:Properties:session.timeout.ms=15000", "Kafka:Properties:heartbeat.interval.ms=500"]);
        try
        {
            if (options.Pin)
                await PinAsync(worker.Pid, core % Environment.ProcessorCount, ct);
            await worker.WaitReadyAsync(TimeSpan.FromMinutes(1), ct);
            return worker;
        }
        catch
        {
            worker.Dispose();
            throw;
        }
    }

    /// <summary>
    /// SIGTERM, and a kill after 60 s: every row of the repetition is already visible, so a slow drain changes no figure,
    /// but it is counted and reported (<paramref name="slowStops"/>), not hidden.
    /// </summary>
    private static async Task StopOrKillAsync(BenchWorker worker, SlowStops slowStops)
    {
        try
        {
            await worker.StopAsync();
        }
        catch (TimeoutException ex)
        {
            slowStops.Add();
            Console.Error.WriteLine($"{ex.Message}; killed");
            worker.Process.Kill();
        }
    }

    /// <summary>Workers killed because they did not stop within 60 s, over every repetition, the failed ones too.</summary>
    private sealed class SlowStops
    {
        private int _count;

        public int Count => _count;

        // The workers of a repetition stop concurrently.
        public void Add() => Interlocked.Increment(ref _count);
    }

    /// <summary>Every worker holds partitions and together all of them: the group has settled.</summary>
    private static async Task WaitForAssignmentAsync(BenchWorker[] workers, int partitions, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var assigned = new List<double>();
            foreach (var worker in workers)
                assigned.Add(BenchWorker.Sum(await worker.MetricsAsync(ct), "pipeline_kafka_assigned_partitions"));
            if (assigned.All(a => a > 0) && assigned.Sum() == partitions)
                return;
            foreach (var worker in workers)
                worker.ThrowIfExited();
            if (clock.Elapsed > TimeSpan.FromMinutes(1))
                throw new TimeoutException($"the two workers hold {string.Join(" and ", assigned)} of {partitions} partitions after a minute");
            await Task.Delay(200, ct);
        }
    }

    /// <summary>Each worker's highest total lag until cancelled, sampled every 250 ms.</summary>
    private static async Task<long[]> SampleMaxLagAsync(BenchWorker[] workers, CancellationToken ct)
    {
        var max = new long[workers.Length];
        try
        {
            while (true)
            {
                for (int i = 0; i < workers.Length; i++)
                    max[i] = Math.Max(max[i], (long)BenchWorker.Sum(await workers[i].MetricsAsync(ct), "pipeline_kafka_consumer_lag"));
                await Task.Delay(250, ct);
            }
        }
        catch (OperationCanceledException)
        {
            return max;
        }
    }

    /// <summary>Every thread of the process on one core (threads started later inherit it).</summary>
    private static async Task PinAsync(int pid, int core, CancellationToken ct)
    {
        using var taskset = Process.Start(new ProcessStartInfo("taskset", ["-a", "-p", "-c", core.ToString(System.Globalization.CultureInfo.InvariantCulture), pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("taskset did not start");
        await taskset.WaitForExitAsync(ct);
        if (taskset.ExitCode != 0)
            throw new InvalidOperationException($"taskset -a -p -c {core} {pid} failed: {await taskset.StandardError.ReadToEndAsync(ct)}");
    }
}
