using System.Diagnostics;
using EventPipeline.Host;
using EventPipeline.DevTools.LocalServers;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Bench.E2e;

/// <summary>
/// Fills one topic once, then runs every contender on it in turn, repeatedly and interleaved (a, b, c, d, a, b,
/// c, d...), each into its own fresh table, so that noise from other work on the machine spreads over all of them.
/// </summary>
internal static class E2eBenchmark
{
    public static async Task<int> RunAsync(E2eOptions options)
    {
        using var interrupt = ConsoleInterrupt.Create();
        var ct = interrupt.Token;
        var startedUtc = DateTime.UtcNow;
        using var loggerFactory = Logging.Create(minimum: LogLevel.Warning);
        var stateDir = Path.Combine(Path.GetTempPath(), $"bench-clickhouse-{Guid.NewGuid():N}");
        using var kafka = MockKafkaCluster.Start(brokers: 3);
        // Every contender joins a new group: no 3 s wait for more members (the mock's default) in anyone's time.
        kafka.SetInitialRebalanceDelay(TimeSpan.Zero);
        var server = await LocalClickHouseServer.StartAsync(stateDir, new LocalClickHouseOptions { ExtraConfigXml = KafkaEnginePeer.ServerConfigXml }, ct);
        try
        {
            var context = new E2eContext(options, kafka, server, loggerFactory);
            await server.QueryAsync($"CREATE DATABASE IF NOT EXISTS {E2eContext.Database}", ct);
            await LoadTopicsAsync(context, ct);

            List<IContender> contenders = [new ConsumeCeiling(), new SinkCeiling(), .. options.BatchSizes.Select(b => new PipelineContender(b)), new KafkaEnginePeer()];
            if (options.Kcat)
                contenders.Add(new KcatPeer());
            var results = contenders.ToDictionary(c => c.Name, _ => new List<MeasuredRun>());
            for (var repetition = 1; repetition <= options.Repeat; repetition++)
            {
                foreach (var contender in contenders)
                {
                    var run = await MeasureAsync(context, contender, repetition, ct);
                    results[contender.Name].Add(run);
                    Console.WriteLine($"[{repetition}/{options.Repeat}] {contender.Name,-20} {run.Describe()}");
                    await Task.Delay(1000, ct); // let the server finish what the last run left (merges, closing consumers)
                }
            }

            var report = await E2eReport.CreateAsync(startedUtc, context, contenders, results, ct);
            report.PrintTable();
            var written = report.Write(options.OutputDirectory);
            Console.WriteLine($"Wrote {string.Join(", ", written)}");
            return 0;
        }
        finally
        {
            await server.DisposeAsync();
            Directory.Delete(stateDir, recursive: true);
        }
    }

    private static async Task LoadTopicsAsync(E2eContext context, CancellationToken ct)
    {
        var options = context.Options;
        context.Kafka.CreateTopic(E2eContext.Topic, options.Partitions);
        context.Kafka.CreateTopic(E2eContext.Topic + ".dlq", 4);
        var clock = Stopwatch.StartNew();
        await TopicLoader.ProduceEventsAsync(context.Kafka.BootstrapServers, E2eContext.Topic, options.Events, ct);
        TopicLoader.VerifyComplete(context.Kafka.BootstrapServers, E2eContext.Topic, options.Partitions, options.Events);
        Console.WriteLine($"Produced {options.Events:N0} events to '{E2eContext.Topic}' ({options.Partitions} partitions) in {clock.Elapsed.TotalSeconds:F1} s; watermarks verified");

        context.PeerPartitions = TopicLoader.PeerPartitions(options.Events, options.Partitions);
        context.Kafka.CreateTopic(E2eContext.PeerTopic, context.PeerPartitions);
        clock.Restart();
        await Task.Run(() => TopicLoader.ProducePeer(context.Kafka.BootstrapServers, E2eContext.PeerTopic, options.Events, context.PeerPartitions, ct), ct);
        TopicLoader.VerifyComplete(context.Kafka.BootstrapServers, E2eContext.PeerTopic, context.PeerPartitions, options.Events);
        Console.WriteLine($"Produced the same events as 18.16-parseable JSON to '{E2eContext.PeerTopic}' ({context.PeerPartitions} partitions) in {clock.Elapsed.TotalSeconds:F1} s; watermarks verified");
    }

    private static async Task<MeasuredRun> MeasureAsync(E2eContext context, IContender contender, int repetition, CancellationToken ct)
    {
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var sampler = new ResourceSampler(context.ServerPid);
        ContenderRun? run = null;
        string? failure = null;
        try
        {
            run = await contender.RunAsync(context, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            failure = $"{ex.GetType().Name}: {ex.Message}";
        }
        finally
        {
            await sampler.DisposeAsync();
        }
        return new MeasuredRun(repetition, run?.Seconds, run is null ? null : context.Events / run.Seconds, run?.Note, failure,
            Math.Round(sampler.StartBenchRssMiB), Math.Round(sampler.BenchHighWaterMiB), Math.Round(sampler.PeakServerRssMiB));
    }
}

/// <summary>One repetition of one contender; Seconds and EventsPerSecond are null when it failed.</summary>
internal sealed record MeasuredRun(int Repetition, double? Seconds, double? EventsPerSecond, string? Note, string? Failure,
    double BenchRssBeforeMib, double BenchPeakRssMib, double ClickHousePeakRssMib)
{
    /// <summary>
    /// Peak minus the RSS at the start: what this contender added. The bench process's baseline holds the mock
    /// cluster's copy of both topics (~1.3 GiB), which no real deployment of the pipeline carries.
    /// </summary>
    public double BenchRssGrowthMib => BenchPeakRssMib - BenchRssBeforeMib;

    public string Describe() => Failure is not null
        ? $"FAILED {Failure}"
        : $"{Seconds:F2} s  {EventsPerSecond,10:N0} ev/s  bench RSS {BenchRssBeforeMib:F0}->{BenchPeakRssMib:F0} MiB  clickhouse {ClickHousePeakRssMib:F0} MiB  {Note}";
}
