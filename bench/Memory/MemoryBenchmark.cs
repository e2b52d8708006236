using EventPipeline.Models;
using System.Diagnostics;
using EventPipeline.Bench.E2e;
using EventPipeline.DevTools.Generation;
using EventPipeline.DevTools.LocalServers;

namespace EventPipeline.Bench.Memory;

/// <summary>
/// Does the worker's memory grow with the backlog? Two backlogs (0.5M and 5M events by default) are loaded before any
/// worker starts, on the same number of partitions, so that only their size differs; then a fresh worker process (a
/// user's defaults, /metrics scraped at Prometheus' interval) drains each while its VmRSS is read every 250 ms. The
/// embedded broker trims each partition to ~5 MiB / 100,000 messages and a consumer then silently skips the rest, so
/// the partitions are as many as the large backlog needs, the watermarks are checked after loading, and after each
/// drain count() and uniqExact(event_id) must both equal the events loaded and no offset may have been reset, or the
/// bench fails.
/// </summary>
internal static class MemoryBenchmark
{
    private const string Database = BenchEnvironment.Database;

    /// <summary>The issue's bound: RSS with the large backlog within 10% of RSS with the small one.</summary>
    public const double TargetRatio = 1.10;

    public static async Task<int> RunAsync(MemoryOptions options)
    {
        using var interrupt = ConsoleInterrupt.Create();
        var ct = interrupt.Token;
        var startedUtc = DateTime.UtcNow;
        var partitions = options.Partitions ?? BacklogPartitions.Needed(options.Large);
        Console.WriteLine($"{options.Small:N0} and {options.Large:N0} events of ~{BacklogPartitions.EventBytes:F0} B on {partitions} partitions each " +
            $"(the large backlog needs {BacklogPartitions.Needed(options.Large)} to fit the embedded broker's ~5 MiB per partition)");
        await using var environment = await BenchEnvironment.StartAsync("memory", kafkaBrokers: 3, ct);
        var sizes = new[] { options.Small, options.Large };
        foreach (var size in sizes)
            await LoadAsync(environment.Kafka, size, partitions, ct);

        var runs = new List<MemoryRun>();
        for (var repetition = 1; repetition <= options.Repeat; repetition++)
        {
            foreach (var size in sizes)
            {
                var run = await DrainAsync(environment.Kafka, environment.Server, options, size, partitions, repetition, environment.LogDirectory, ct);
                runs.Add(run);
                Console.WriteLine(run.Describe());
            }
        }

        var report = MemoryReport.Create(startedUtc, options, partitions, environment.ServerVersion, runs);
        report.Print();
        Console.WriteLine($"Wrote {string.Join(", ", report.Write(options.OutputDirectory))}");
        environment.Succeeded();
        return 0;
    }

    private static string Topic(long size) => $"memory_{size}";

    private static async Task LoadAsync(MockKafkaCluster kafka, long size, int partitions, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        kafka.CreateTopic(Topic(size), partitions);
        await EventProducer.ProduceAsync(new ProduceRequest(kafka.BootstrapServers, Topic(size), size, TopicLoader.Generator, RoundRobin: true), null, ct);
        TopicLoader.VerifyComplete(kafka.BootstrapServers, Topic(size), partitions, size);
        Console.WriteLine($"Loaded {size:N0} events into {Topic(size)} ({partitions} partitions) in {clock.Elapsed.TotalSeconds:F0} s; watermarks verified");
    }

    private static async Task<MemoryRun> DrainAsync(MockKafkaCluster kafka, LocalClickHouseServer server, MemoryOptions options, long size, int partitions,
        int repetition, string logDir, CancellationToken ct)
    {
        var table = await BenchTables.CreateAsync(server, Database, "memory", ct);
        var qualified = $"{Database}.{table}";
        try
        {
            var name = $"worker-{size}-{repetition}";
            using var worker = BenchWorker.Start(kafka.BootstrapServers, Topic(size), server.HttpUrl, Database, table, name, Path.Combine(logDir, $"{name}.log"));
            using var scraping = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var scrapes = worker.ScrapeLoopAsync(options.ScrapeInterval, scraping.Token);
            var clock = Stopwatch.StartNew();
            var samples = new List<double[]>();
            long rows = 0;
            var tick = TimeSpan.Zero;
            while (rows < size)
            {
                worker.ThrowIfExited();
                var rss = ProcessRss.Bytes(worker.Pid) ?? throw new InvalidOperationException($"{name} is gone: {worker.Process.Tail}");
                rows = await server.CountAsync(qualified, ct);
                samples.Add([Math.Round(clock.Elapsed.TotalSeconds, 3), Math.Round(rss / 1048576.0, 1), rows]);
                if (clock.Elapsed > options.DrainTimeout)
                    throw new TimeoutException($"{name}: {rows:N0} of {size:N0} rows after {options.DrainTimeout.TotalSeconds} s");
                // A steady cadence: the count query's own time is not added to the interval.
                tick += options.SampleInterval;
                if (tick - clock.Elapsed is { Ticks: > 0 } wait)
                    await Task.Delay(wait, ct);
            }
            var seconds = clock.Elapsed.TotalSeconds;

            var (stored, distinct) = await server.CountRowsAndEventsAsync(qualified, ct);
            var metrics = await worker.MetricsAsync(ct);
            var resets = BenchWorker.Sum(metrics, "pipeline_kafka_offset_resets_total");
            if (stored != size || distinct != size || resets > 0)
                throw new InvalidOperationException(
                    $"COUNTS DO NOT MATCH: {size:N0} events loaded, {stored:N0} rows and {distinct:N0} distinct events in ClickHouse, {resets} offset resets " +
                    "(the broker trimmed a partition, or the worker lost or duplicated events): the RSS figures are not valid");
            await scraping.CancelAsync();
            var scraped = await scrapes;
            await worker.StopAsync();

            var draining = samples.Where(s => s[2] > 0 && s[2] < size).Select(s => s[1]).ToList();
            return new MemoryRun(repetition, size, partitions, Math.Round(seconds, 2), samples.Max(s => s[1]),
                SampleStatistics.Median(draining.Count > 0 ? draining : samples.Select(s => s[1])), stored, distinct, scraped, samples);
        }
        finally
        {
            await BenchTables.DropAsync(server, Database, table);
        }
    }
}
