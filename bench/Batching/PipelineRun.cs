using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using EventPipeline.Bench.E2e;
using EventPipeline.Host;
using EventPipeline.Host.Configuration;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.Stages;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Bench.Batching;

/// <summary>
/// One policy on the real pipeline: a fresh mock Kafka cluster and table, the worker started and assigned first,
/// then the paced producer, sampled once a second, until every produced row is inserted.
/// </summary>
internal static partial class PipelineRun
{
    public static async Task<(MeasuredPolicy Result, bool Ok)> RunAsync(BatchingOptions options, BenchLoad load, PolicySpec spec, PolicyNumbers simulated,
        LocalClickHouseServer server, ILoggerFactory loggerFactory, CancellationToken ct)
    {
        using var kafka = MockKafkaCluster.Start(brokers: 1);
        kafka.SetInitialRebalanceDelay(TimeSpan.Zero);
        const string topic = "events";
        kafka.CreateTopic(topic, options.Partitions);
        kafka.CreateTopic(topic + ".dlq", 4);
        var table = E2eContext.Unique("batching");
        await server.QueryAsync($"DROP TABLE IF EXISTS bench.{table}", ct);
        await server.QueryAsync(EventsTable.CreateStatement($"bench.{table}"), ct);
        var values = new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = kafka.BootstrapServers,
            ["Kafka:Topic"] = topic,
            ["Kafka:GroupId"] = E2eContext.Unique("bench_batching"),
            ["ClickHouse:Url"] = server.HttpUrl.ToString(),
            ["ClickHouse:Database"] = "bench",
            ["ClickHouse:Table"] = table,
            ["Metrics:Port"] = "0",
        };
        foreach (var (key, value) in spec.Settings)
            values[key] = value;
        var settings = PipelineSettings.Load(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
        var metrics = new PipelineMetrics(Prometheus.Metrics.NewCustomRegistry());
        var dayClock = new Stopwatch();
        var policy = spec.ForWorker(metrics, loggerFactory.CreateLogger("EventPipeline.BatchPolicy"), () => dayClock.Elapsed.TotalSeconds / load.Seconds % 1.0);
        var worker = new PipelineWorker(settings, metrics, loggerFactory, policy);
        var insertQueriesBefore = await SystemEventAsync(server, "InsertQuery", ct);
        var partsBefore = await PartsCreatedAsync(server, ct);
        using var stop = new CancellationTokenSource();
        var running = Task.Run(() => worker.RunAsync(stop.Token), CancellationToken.None);
        var producer = new PacedProducer();
        var series = new List<SeriesPoint>();
        var ok = true;
        double drain = double.NaN, finished = 0;
        try
        {
            var assigned = Stopwatch.StartNew();
            while (worker.AssignedPartitions < options.Partitions)
            {
                if (assigned.Elapsed > TimeSpan.FromSeconds(30) || running.IsCompleted)
                    throw new TimeoutException($"the worker has {worker.AssignedPartitions} of {options.Partitions} partitions after 30 s ({running.Status})");
                await Task.Delay(50, ct);
            }
            dayClock.Start();
            var producing = Task.Run(() => producer.RunAsync(kafka.BootstrapServers, topic, options.Partitions, load, ct), ct);
            var previous = new Sample(0, 0, 0, 0, Buckets(metrics));
            var next = 1.0;
            while (true)
            {
                var wait = next - dayClock.Elapsed.TotalSeconds;
                if (wait > 0)
                    await Task.Delay(TimeSpan.FromSeconds(wait), ct);
                var now = dayClock.Elapsed.TotalSeconds;
                var current = new Sample(producer.Produced, worker.Inserted, (long)metrics.BatchSize.Count, metrics.BatchSize.Sum, Buckets(metrics));
                var seconds = now - (next - 1.0);
                var batches = current.Batches - previous.Batches;
                series.Add(new SeriesPoint(Math.Round(now, 2), Math.Round((current.Produced - previous.Produced) / seconds), Math.Round((current.Inserted - previous.Inserted) / seconds),
                    batches, batches > 0 ? Math.Round((current.BatchRows - previous.BatchRows) / batches) : null, metrics.BatchTargetSize.Value,
                    Quantile(previous.LatencyBuckets, current.LatencyBuckets, 0.99)));
                previous = current;
                next += 1.0;
                if (producing.IsCompleted)
                {
                    await producing; // rethrows a produce failure
                    if (worker.Inserted >= producer.Produced)
                    {
                        finished = LastInsertSeconds(series, now);
                        drain = Math.Max(0, finished - load.Seconds);
                        break;
                    }
                    if (now > load.Seconds + 60)
                    {
                        ok = false;
                        Console.Error.WriteLine($"{spec.Name}: {worker.Inserted} of {producer.Produced} rows inserted 60 s after the load ended");
                        finished = now;
                        break;
                    }
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            try
            {
                await running;
            }
            catch (Exception ex)
            {
                ok = false;
                Console.Error.WriteLine($"{spec.Name}: worker ended with {ex.GetType().Name}: {ex.Message}");
            }
            (policy as IDisposable)?.Dispose();
        }
        var count = await server.CountAsync($"bench.{table}", ct);
        if (count != producer.Produced)
        {
            ok = false;
            Console.Error.WriteLine($"{spec.Name}: {count} rows in the table, {producer.Produced} produced");
        }
        var insertQueries = await SystemEventAsync(server, "InsertQuery", ct) - insertQueriesBefore;
        var partsAfter = await PartsCreatedAsync(server, ct);
        await server.QueryAsync($"DROP TABLE IF EXISTS bench.{table}", CancellationToken.None);
        var latency = worker.EndToEndLatency.Cumulative();
        double[] p = [latency.P50Ms ?? double.NaN, latency.P95Ms ?? double.NaN, latency.P99Ms ?? double.NaN];
        var flushes = (long)metrics.BatchSize.Count;
        var measured = new PolicyNumbers(Math.Round(count / Math.Max(load.Seconds, finished), 1), Math.Round(p[0], 1), Math.Round(p[1], 1), Math.Round(p[2], 1),
            Math.Round(flushes / load.Seconds, 3), flushes);
        return (new MeasuredPolicy(spec.Name, spec.Description, producer.Produced, count, Math.Round(drain, 2), insertQueries,
            partsBefore is null || partsAfter is null ? null : partsAfter - partsBefore, measured, simulated, series), ok);
    }

    private sealed record Sample(long Produced, long Inserted, long Batches, double BatchRows, SortedList<double, double> LatencyBuckets);

    /// <summary>The time of the last second that inserted rows (the drain ends there), at 1 s resolution.</summary>
    private static double LastInsertSeconds(List<SeriesPoint> series, double now) =>
        series.LastOrDefault(s => s.InsertedPerSecond > 0)?.T ?? now;

    private static async Task<long> SystemEventAsync(LocalClickHouseServer server, string name, CancellationToken ct)
    {
        var text = (await server.QueryAsync($"SELECT value FROM system.events WHERE event = '{name}' FORMAT TabSeparated", ct)).Trim();
        return text.Length == 0 ? 0 : long.Parse(text, CultureInfo.InvariantCulture);
    }

    /// <summary>Parts written by inserts (system.events 'InsertedParts' when the server counts it).</summary>
    private static async Task<long?> PartsCreatedAsync(LocalClickHouseServer server, CancellationToken ct)
    {
        var text = (await server.QueryAsync("SELECT value FROM system.events WHERE event = 'InsertedParts' FORMAT TabSeparated", ct)).Trim();
        return text.Length == 0 ? null : long.Parse(text, CultureInfo.InvariantCulture);
    }

    /// <summary>Cumulative bucket counts (upper bound -> count) of pipeline_end_to_end_latency_seconds, from the worker's own registry.</summary>
    private static SortedList<double, double> Buckets(PipelineMetrics metrics)
    {
        using var stream = new MemoryStream();
        metrics.Registry.CollectAndExportAsTextAsync(stream).GetAwaiter().GetResult();
        var text = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        var result = new SortedList<double, double>();
        foreach (Match m in BucketLine().Matches(text))
        {
            var le = m.Groups[1].Value == "+Inf" ? double.PositiveInfinity : double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            result[le] = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        }
        return result;
    }

    /// <summary>A quantile of the rows acknowledged between two samples, interpolated inside its bucket (factor-2 buckets: coarse).</summary>
    private static double? Quantile(SortedList<double, double> before, SortedList<double, double> after, double q)
    {
        var total = after.Values.LastOrDefault() - before.Values.LastOrDefault();
        if (total <= 0)
            return null;
        double lower = 0, below = 0;
        foreach (var (le, cumulative) in after)
        {
            var count = cumulative - before.GetValueOrDefault(le);
            if (count >= q * total)
            {
                if (double.IsPositiveInfinity(le))
                    return Math.Round(lower * 1000, 1);
                var inBucket = count - below;
                var fraction = inBucket <= 0 ? 1 : (q * total - below) / inBucket;
                return Math.Round((lower + (le - lower) * fraction) * 1000, 1);
            }
            lower = le;
            below = count;
        }
        return null;
    }

    [GeneratedRegex(@"^pipeline_end_to_end_latency_seconds_bucket\{le=""([^""]+)""\} ([0-9.eE+]+)", RegexOptions.Multiline)]
    private static partial Regex BucketLine();
}
