using System.Diagnostics;
using System.Globalization;
using EventPipeline.Bench.Cpu;
using EventPipeline.Host;
using EventPipeline.Host.Configuration;
using EventPipeline.Stages;
using Microsoft.Extensions.Configuration;

namespace EventPipeline.Bench.E2e;

/// <summary>
/// (c) The product: a <see cref="PipelineWorker"/> with a fresh group on the pre-produced topic, timed from start
/// until count() in ClickHouse reaches the events (polled every 100 ms), then stopped. It runs in this process, so
/// this process's CPU over that interval is the worker's (librdkafka's threads included). Its produce-to-insert
/// latency is meaningless here (the events waited in Kafka before the clock started), so the run reports the
/// time until all rows were visible.
/// </summary>
internal sealed class PipelineContender(int batchSize, string? topic = null, string? name = null, IReadOnlyDictionary<string, string?>? extraSettings = null)
    : IContender
{
    public string Name => name ?? $"pipeline_b{batchSize}";
    public string Description => $"PipelineWorker on '{topic ?? E2eContext.Topic}', Batch:Size {batchSize}" +
                                 (extraSettings is null ? ", defaults otherwise" : ", " + string.Join(", ", extraSettings.Select(s => $"{s.Key} {s.Value}")));

    public async Task<ContenderRun> RunAsync(E2eContext context, CancellationToken ct)
    {
        var table = E2eContext.Unique("pipe");
        await context.CreateEventsTableAsync(table, ct);
        var values = new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = context.Kafka.BootstrapServers,
            ["Kafka:Topic"] = topic ?? E2eContext.Topic,
            ["Kafka:GroupId"] = E2eContext.Unique("bench_pipeline"),
            ["ClickHouse:Url"] = context.ClickHouse.HttpUrl.ToString(),
            ["ClickHouse:Database"] = E2eContext.Database,
            ["ClickHouse:Table"] = table,
            ["ClickHouse:MaxConcurrentInserts"] = context.Options.MaxConcurrentInserts.ToString(CultureInfo.InvariantCulture),
            ["Batch:Size"] = batchSize.ToString(CultureInfo.InvariantCulture),
            ["Batch:MaxSize"] = Math.Max(200_000, batchSize).ToString(CultureInfo.InvariantCulture),
            ["Metrics:Port"] = "0",
        };
        foreach (var (key, value) in extraSettings ?? new Dictionary<string, string?>())
            values[key] = value;
        var settings = PipelineSettings.Load(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
        var worker = new PipelineWorker(settings, new PipelineMetrics(Prometheus.Metrics.NewCustomRegistry()), context.LoggerFactory);
        using var stop = new CancellationTokenSource();
        var serverPid = context.ServerPid;
        var (workerCpu, serverCpu) = (ProcessCpu.Self(), serverPid is { } pid ? ProcessCpu.Seconds(pid) : null);
        var clock = Stopwatch.StartNew();
        var running = Task.Run(() => worker.RunAsync(stop.Token), CancellationToken.None);
        try
        {
            var visible = await context.WaitForAllVisibleAsync(table, clock, ct,
                () => $"(consumed {worker.Consumed}, inserted {worker.Inserted}, dead-lettered {worker.DeadLettered}, worker {running.Status})");
            workerCpu = ProcessCpu.Self() - workerCpu;
            serverCpu = serverPid is { } server && serverCpu is { } before ? ProcessCpu.Seconds(server) - before : null;
            await stop.CancelAsync();
            await running;
            var count = await context.CountAsync(table, ct);
            if (count != context.Events || worker.DeadLettered != 0)
                throw new InvalidOperationException($"pipeline: {count} rows after stop, {worker.DeadLettered} dead-lettered");
            return new ContenderRun(visible.TotalSeconds, $"time to all visible {visible.TotalSeconds:F2} s", workerCpu, serverCpu);
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
                Console.Error.WriteLine($"pipeline worker ended with {ex.GetType().Name}: {ex.Message}");
            }
            await context.DropTableAsync(table, CancellationToken.None);
        }
    }
}
