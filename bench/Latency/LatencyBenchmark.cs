using System.Diagnostics;
using EventPipeline.Bench.Batching;
using EventPipeline.Bench.E2e;
using EventPipeline.DevTools.Generation;
using EventPipeline.DevTools.LocalServers;

namespace EventPipeline.Bench.Latency;

/// <summary>
/// Produce->visible latency under paced load, measured exactly by the worker itself (GET /latency: every acknowledged
/// row, HDR histogram within 1%). The worker runs as its own process with a user's defaults while /metrics is scraped
/// at Prometheus' interval. First the maximum sustainable rate: a preloaded backlog drained, the rate from the first
/// insert past 10% of it to the last full batch (start-up, group join and the timer-flushed tail left out), or --max-rate. Then one worker takes paced load at
/// each level (25/50/75% of that rate), the levels interleaved over the repetitions in a seeded random order so that drift
/// of the machine does not favour one; each run drops its warm-up by taking an interval snapshot after it and
/// measures with another at the end of the load. After each run every event produced so far must be visible before
/// the next starts, and no offset may have been reset (the embedded broker trims each partition to ~5 MiB).
/// </summary>
internal static class LatencyBenchmark
{
    private const string Database = BenchEnvironment.Database;
    private const string BacklogTopic = "latency_backlog";
    private const string PacedTopic = "latency_paced";

    /// <summary>The p99 the issue asks for at 50% of the maximum rate.</summary>
    public const long TargetP99Ms = 1000;

    public static async Task<int> RunAsync(LatencyOptions options)
    {
        using var interrupt = ConsoleInterrupt.Create();
        var ct = interrupt.Token;
        var startedUtc = DateTime.UtcNow;
        await using var environment = await BenchEnvironment.StartAsync("latency", kafkaBrokers: 3, ct);
        var maxRate = options.MaxRate is { } given ? MaxRate.Given(given)
            : await MeasureMaxRateAsync(environment.Kafka, environment.Server, options, environment.LogDirectory, ct);
        Console.WriteLine(maxRate.Describe());
        var (runs, scrapes) = await RunPacedAsync(environment.Kafka, environment.Server, options, maxRate.EventsPerSecond, environment.LogDirectory, ct);
        var report = LatencyReport.Create(startedUtc, options, environment.ServerVersion, maxRate, runs, scrapes);
        report.Print();
        Console.WriteLine($"Wrote {string.Join(", ", report.Write(options.OutputDirectory))}");
        environment.Succeeded();
        return 0;
    }

    private static async Task<MaxRate> MeasureMaxRateAsync(MockKafkaCluster kafka, LocalClickHouseServer server, LatencyOptions options, string logDir,
        CancellationToken ct)
    {
        var partitions = Math.Max(options.Partitions, BacklogPartitions.Needed(options.BacklogEvents));
        kafka.CreateTopic(BacklogTopic, partitions);
        await EventProducer.ProduceAsync(new ProduceRequest(kafka.BootstrapServers, BacklogTopic, options.BacklogEvents, TopicLoader.Generator, RoundRobin: true), null, ct);
        TopicLoader.VerifyComplete(kafka.BootstrapServers, BacklogTopic, partitions, options.BacklogEvents);
        Console.WriteLine($"Loaded {options.BacklogEvents:N0} events into {BacklogTopic} ({partitions} partitions); watermarks verified");

        var table = await BenchTables.CreateAsync(server, Database, "latency_drain", ct);
        try
        {
            using var worker = BenchWorker.Start(kafka.BootstrapServers, BacklogTopic, server.HttpUrl, Database, table, "drain", Path.Combine(logDir, "drain.log"), options.WorkerSettings);
            var clock = Stopwatch.StartNew();
            var samples = new List<(double Seconds, long Rows)>();
            while (samples.Count == 0 || samples[^1].Rows < options.BacklogEvents)
            {
                var rows = await server.CountAsync($"{Database}.{table}", ct);
                samples.Add((clock.Elapsed.TotalSeconds, rows));
                if (rows > options.BacklogEvents)
                    throw new InvalidOperationException($"{table} holds {rows:N0} rows, more than the {options.BacklogEvents:N0} events: duplicates");
                worker.ThrowIfExited();
                if (clock.Elapsed > options.DrainTimeout)
                    throw new TimeoutException($"the backlog: {rows:N0} of {options.BacklogEvents:N0} rows after {options.DrainTimeout.TotalSeconds} s");
                await Task.Delay(100, ct);
            }
            await worker.StopAsync();
            // Rows arrive a batch at a time. From the first sample at or past 10% (start-up and the group join are over) to
            // the first sample showing the last count before the total: the last, partial batch waits for the batch timer.
            var from = samples.First(s => s.Rows >= options.BacklogEvents * 0.1);
            var lastBeforeTotal = samples.Where(s => s.Rows < options.BacklogEvents).Max(s => s.Rows);
            var to = samples.First(s => s.Rows == lastBeforeTotal);
            if (to.Rows <= from.Rows)
                throw new InvalidOperationException($"too few inserts to measure a rate between: use a larger --backlog than {options.BacklogEvents:N0}");
            var rate = (to.Rows - from.Rows) / (to.Seconds - from.Seconds);
            return new MaxRate(Math.Round(rate), "measured: a preloaded backlog drained, rate from the first insert past 10% to the last full batch", options.BacklogEvents, partitions,
                Math.Round(samples[^1].Seconds, 2));
        }
        finally
        {
            await BenchTables.DropAsync(server, Database, table);
        }
    }

    private static async Task<(List<LatencyRun> Runs, int Scrapes)> RunPacedAsync(MockKafkaCluster kafka, LocalClickHouseServer server, LatencyOptions options,
        double maxRate, string logDir, CancellationToken ct)
    {
        kafka.CreateTopic(PacedTopic, options.Partitions);
        var table = await BenchTables.CreateAsync(server, Database, "latency_paced", ct);
        var qualified = $"{Database}.{table}";
        try
        {
            using var worker = BenchWorker.Start(kafka.BootstrapServers, PacedTopic, server.HttpUrl, Database, table, "paced", Path.Combine(logDir, "paced.log"), options.WorkerSettings);
            await worker.WaitReadyAsync(TimeSpan.FromMinutes(1), ct);
            using var scraping = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var scrapes = worker.ScrapeLoopAsync(options.ScrapeInterval, scraping.Token);

            // A few seconds of light load first: the group join and the JIT belong to no run.
            var primer = new PacedProducer();
            await Task.Run(() => primer.RunAsync(kafka.BootstrapServers, PacedTopic, options.Partitions, BenchLoad.Constant(1000, 3), ct), ct);
            var produced = primer.Produced;
            await BenchTables.WaitForRowsAsync(server, qualified, produced, options.DrainTimeout, worker, ct);

            var runs = new List<LatencyRun>();
            for (var repetition = 1; repetition <= options.Repeat; repetition++)
            {
                foreach (var level in RunOrder.Shuffled(options.Levels, seed: repetition))
                {
                    var run = await RunOnceAsync(kafka, server, worker, options, qualified, repetition, level, maxRate * level / 100, produced, ct);
                    produced += run.Produced;
                    runs.Add(run);
                    Console.WriteLine(run.Describe());
                }
            }

            var metrics = await worker.MetricsAsync(ct);
            if (BenchWorker.Sum(metrics, "pipeline_kafka_offset_resets_total") is > 0 and var resets)
                throw new InvalidOperationException($"the worker reset {resets} offsets: it fell behind the broker's retention and skipped events; the latencies are not valid");
            await scraping.CancelAsync();
            var scraped = await scrapes;
            await worker.StopAsync();
            return (runs, scraped);
        }
        finally
        {
            await BenchTables.DropAsync(server, Database, table);
        }
    }

    /// <param name="producedBefore">Events in the topic before this run: after it, the table must hold these plus this run's.</param>
    private static async Task<LatencyRun> RunOnceAsync(MockKafkaCluster kafka, LocalClickHouseServer server, BenchWorker worker, LatencyOptions options,
        string qualifiedTable, int repetition, int level, double rate, long producedBefore, CancellationToken ct)
    {
        var producer = new PacedProducer();
        var clock = Stopwatch.StartNew();
        var producing = Task.Run(() => producer.RunAsync(kafka.BootstrapServers, PacedTopic, options.Partitions,
            BenchLoad.Constant(rate, options.WarmUpSeconds + options.Seconds), ct), ct);
        await DelayUntilAsync(clock, TimeSpan.FromSeconds(options.WarmUpSeconds), producing, ct);
        await worker.LatencyAsync(interval: true, ct); // the warm-up's rows, dropped
        var producedAtStart = producer.Produced;
        var window = Stopwatch.StartNew();
        await DelayUntilAsync(clock, TimeSpan.FromSeconds(options.WarmUpSeconds + options.Seconds), producing, ct);
        var latency = await worker.LatencyAsync(interval: true, ct);
        var producedInWindow = producer.Produced - producedAtStart;
        var windowSeconds = window.Elapsed.TotalSeconds;
        await producing;
        var loadEnded = Stopwatch.StartNew();
        await BenchTables.WaitForRowsAsync(server, qualifiedTable, producedBefore + producer.Produced, options.DrainTimeout, worker, ct);
        return new LatencyRun(repetition, level, Math.Round(rate), Math.Round(producedInWindow / windowSeconds), Math.Round(latency.Count / latency.Seconds),
            producer.Produced, latency, Math.Round(loadEnded.Elapsed.TotalSeconds, 2));
    }

    /// <summary>Waits until the clock shows <paramref name="at"/>; a producer that failed meanwhile ends the wait with its exception.</summary>
    private static async Task DelayUntilAsync(Stopwatch clock, TimeSpan at, Task producing, CancellationToken ct)
    {
        var remaining = at - clock.Elapsed;
        if (remaining > TimeSpan.Zero)
            await Task.WhenAny(Task.Delay(remaining, ct), producing);
        if (producing.IsFaulted)
            await producing;
        ct.ThrowIfCancellationRequested();
    }
}
