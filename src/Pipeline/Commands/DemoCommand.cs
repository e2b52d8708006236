using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Confluent.Kafka;
using EventPipeline.Host.Configuration;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.DevTools.Generation;
using EventPipeline.Stages;
using EventPipeline.Stages.Events;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Host.Commands;

/// <summary>
/// Everything on one machine with no configuration: an embedded Kafka cluster, a local ClickHouse server (unless
/// ClickHouse:Url is given), the generator and the worker, a live view, and a summary that counts every event.
/// </summary>
internal static class DemoCommand
{
    private const string Topic = "events";
    private const string Database = "demo";
    private const string Table = "events";

    public static Command Create()
    {
        var events = new Option<long>("--events") { Description = "Events to produce.", DefaultValueFactory = _ => 200_000 };
        var rate = new Option<double>("--rate") { Description = "Events per second; 0 = as fast as possible.", DefaultValueFactory = _ => 0 };
        var malformed = new Option<double>("--malformed") { Description = "Fraction of malformed messages (they go to the DLQ).", DefaultValueFactory = _ => 0.01 };
        var partitions = new Option<int>("--partitions") { Description = "Partitions of the demo topic.", DefaultValueFactory = _ => 32 };
        var summaryJson = new Option<FileInfo?>("--summary-json") { Description = "Write the summary as JSON to this file." };
        var state = new Option<DirectoryInfo>("--state-dir") { Description = "Where the local ClickHouse keeps its data.", DefaultValueFactory = _ => new DirectoryInfo(".state/clickhouse") };
        var command = new Command("demo", "Run the whole pipeline locally: embedded Kafka, local ClickHouse, generator, worker, live view, summary.")
        {
            events, rate, malformed, partitions, summaryJson, state,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction((parse, _) => RunAsync(parse.GetValue(events), parse.GetValue(rate), parse.GetValue(malformed), parse.GetValue(partitions),
            parse.GetValue(summaryJson), parse.GetValue(state)!, parse.UnmatchedTokens));
        return command;
    }

    private static async Task<int> RunAsync(long eventCount, double rate, double malformedFraction, int partitionCount, FileInfo? summaryJson,
        DirectoryInfo stateDir, IReadOnlyList<string> configurationArgs)
    {
        using var shutdown = new ShutdownSignal();
        var configuration = PipelineSettings.BuildConfiguration(configurationArgs);
        // Only warnings: the live view is the demo's output.
        using var loggerFactory = Logging.Create(minimum: LogLevel.Warning);

        using var kafka = MockKafkaCluster.Start(brokers: 3);
        // A real cluster's 3 s initial rebalance delay only waits for group members that will never come here.
        kafka.SetInitialRebalanceDelay(TimeSpan.Zero);
        kafka.CreateTopic(Topic, partitionCount);
        kafka.CreateTopic(Topic + ".dlq", 4);

        LocalClickHouseServer? localServer = null;
        var clickHouseUrl = configuration["ClickHouse:Url"];
        if (string.IsNullOrEmpty(clickHouseUrl))
        {
            AnsiConsole.MarkupLine($"[grey]Starting ClickHouse in {Markup.Escape(stateDir.FullName)}...[/]");
            localServer = await LocalClickHouseServer.StartAsync(stateDir.FullName, ct: shutdown.Token);
            clickHouseUrl = localServer.HttpUrl.ToString();
        }
        try
        {
            var overrides = new Dictionary<string, string?>
            {
                ["Kafka:BootstrapServers"] = kafka.BootstrapServers,
                ["Kafka:Topic"] = Topic,
                ["Kafka:GroupId"] = "demo-" + Guid.NewGuid().ToString("N")[..8],
                ["ClickHouse:Url"] = clickHouseUrl,
                ["ClickHouse:Database"] = Database,
                ["ClickHouse:Table"] = Table,
                ["Batch:Size"] = configuration["Batch:Size"] ?? "20000",
                ["Batch:MaxLatencyMs"] = configuration["Batch:MaxLatencyMs"] ?? "500",
                ["Metrics:Port"] = configuration["Metrics:Port"] ?? "0",
            };
            var settings = PipelineSettings.Load(new ConfigurationBuilder().AddConfiguration(configuration).AddInMemoryCollection(overrides).Build());
            using var admin = new ClickHouseAdmin(new Uri(clickHouseUrl), settings.ClickHouse.Username, settings.ResolvePassword());
            await admin.ExecuteAsync($"CREATE DATABASE IF NOT EXISTS {Database}", shutdown.Token);
            await admin.ExecuteAsync($"DROP TABLE IF EXISTS {Database}.{Table}", shutdown.Token);
            await admin.ExecuteAsync(EventsTable.CreateStatement($"{Database}.{Table}"), shutdown.Token);

            var metrics = new PipelineMetrics(Prometheus.Metrics.NewCustomRegistry());
            var worker = new PipelineWorker(settings, metrics, loggerFactory);
            using var stopWorker = new CancellationTokenSource();
            var workerTask = worker.RunAsync(stopWorker.Token);
            // Latency is measured from the moment an event is produced: start producing once the worker consumes,
            // so that the summary shows the pipeline's latency, not its start-up.
            while (worker.AssignedPartitions == 0 && !workerTask.IsCompleted && !shutdown.Token.IsCancellationRequested)
                await Task.Delay(50);

            long produced = 0;
            var clock = Stopwatch.StartNew();
            var generatorOptions = new EventGeneratorOptions
            {
                Seed = 42,
                MalformedFraction = malformedFraction,
                StartTimestampMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            };
            var produceTask = Task.Run(() => EventProducer.ProduceAsync(
                new ProduceRequest(kafka.BootstrapServers, Topic, eventCount, generatorOptions, rate, RoundRobin: true),
                p => Interlocked.Exchange(ref produced, p), shutdown.Token));

            await ShowProgressAsync(worker, () => Interlocked.Read(ref produced), eventCount, produceTask, clock, shutdown.Token);
            var producedSummary = await produceTask;
            var seconds = clock.Elapsed.TotalSeconds;
            await stopWorker.CancelAsync();
            await workerTask;

            var inserted = await admin.CountAsync($"{Database}.{Table}", CancellationToken.None);
            var deadLettered = CountMessages(kafka.BootstrapServers, Topic + ".dlq");
            var latency = worker.EndToEndLatency.Cumulative();
            var summary = new DemoSummary(producedSummary.Produced, inserted, deadLettered,
                producedSummary.Produced - inserted - deadLettered, Math.Round(seconds, 3), Math.Round(inserted / seconds),
                new LatencySummary(latency.P50Ms ?? double.NaN, latency.P95Ms ?? double.NaN, latency.P99Ms ?? double.NaN));
            PrintSummary(summary);
            if (summaryJson is not null)
                await File.WriteAllTextAsync(summaryJson.FullName, JsonSerializer.Serialize(summary, DemoJson.Options));
            return summary.Lost == 0 ? 0 : 1;
        }
        finally
        {
            if (localServer is not null)
                await localServer.DisposeAsync();
        }
    }

    private static async Task ShowProgressAsync(PipelineWorker worker, Func<long> produced, long total, Task produceTask, Stopwatch clock, CancellationToken cancellationToken)
    {
        var table = new Table().AddColumns("produced", "consumed", "inserted", "dead-lettered", "in flight", "paused", "inserted/s");
        table.AddRow("0", "0", "0", "0", "0", "no", "0");
        await AnsiConsole.Live(table).StartAsync(async context =>
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var done = worker.Inserted + worker.DeadLettered;
                table.UpdateCell(0, 0, produced().ToString("N0", CultureInfo.InvariantCulture));
                table.UpdateCell(0, 1, worker.Consumed.ToString("N0", CultureInfo.InvariantCulture));
                table.UpdateCell(0, 2, worker.Inserted.ToString("N0", CultureInfo.InvariantCulture));
                table.UpdateCell(0, 3, worker.DeadLettered.ToString("N0", CultureInfo.InvariantCulture));
                table.UpdateCell(0, 4, worker.InFlight.ToString("N0", CultureInfo.InvariantCulture));
                table.UpdateCell(0, 5, worker.IsPaused ? "yes" : "no");
                table.UpdateCell(0, 6, (worker.Inserted / Math.Max(clock.Elapsed.TotalSeconds, 1e-3)).ToString("N0", CultureInfo.InvariantCulture));
                context.Refresh();
                if (produceTask.IsFaulted || (produceTask.IsCompleted && done >= total))
                    return;
                await Task.Delay(250, CancellationToken.None);
            }
        });
    }

    private static long CountMessages(string bootstrapServers, string topic)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrapServers, GroupId = "demo-count" }).Build();
        long count = 0;
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        foreach (var partition in admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics[0].Partitions)
        {
            var offsets = consumer.QueryWatermarkOffsets(new TopicPartition(topic, partition.PartitionId), TimeSpan.FromSeconds(10));
            count += offsets.High.Value - offsets.Low.Value;
        }
        return count;
    }

    private static void PrintSummary(DemoSummary summary)
    {
        var table = new Table().AddColumns("", "value");
        table.AddRow("produced", summary.Produced.ToString("N0", CultureInfo.InvariantCulture));
        table.AddRow("inserted (count() in ClickHouse)", summary.Inserted.ToString("N0", CultureInfo.InvariantCulture));
        table.AddRow("dead-lettered (DLQ topic)", summary.DeadLettered.ToString("N0", CultureInfo.InvariantCulture));
        table.AddRow(summary.Lost == 0 ? "lost" : "[red]lost[/]", summary.Lost.ToString("N0", CultureInfo.InvariantCulture));
        table.AddRow("seconds", summary.Seconds.ToString("F2", CultureInfo.InvariantCulture));
        table.AddRow("events/s", summary.EventsPerSecond.ToString("N0", CultureInfo.InvariantCulture));
        table.AddRow("latency p50/p95/p99 (ms)", $"{summary.LatencyMs.P50:F0} / {summary.LatencyMs.P95:F0} / {summary.LatencyMs.P99:F0}");
        AnsiConsole.Write(table);
    }
}

internal sealed record LatencySummary(double P50, double P95, double P99);

internal sealed record DemoSummary(long Produced, long Inserted, long DeadLettered, long Lost, double Seconds, double EventsPerSecond, LatencySummary LatencyMs);

internal static class DemoJson
{
    public static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };
}
