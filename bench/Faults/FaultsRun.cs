using System.Diagnostics;
using System.Globalization;
using EventPipeline.Host;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.DevTools.Generation;
using EventPipeline.Bench.E2e;
using EventPipeline.Stages.Events;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Bench.Faults;

/// <summary>
/// One guarantee's run on a fresh topic, group and table: pre-produce, then run the worker as a child process and
/// SIGKILL it whenever count() passes the next seeded threshold (thresholds spread evenly over the run, jittered),
/// restarting it each time; between two kills, optionally kill ClickHouse or take a broker down once. After the
/// last restart the worker runs until every good event is visible, then gets SIGTERM; then rows, distinct
/// event_ids and dead letters are counted.
/// </summary>
internal sealed class FaultsRun(FaultsOptions options, MockKafkaCluster kafka, LocalClickHouseServer server, string logDirectory)
{
    // Dead letters carry the payload plus headers (~2x a source message) and at-least-once repeats after each kill:
    // 4 partitions overflowed the mock's ~5 MiB per partition with 2M events.
    private const int DeadLetterPartitions = 32;
    private static readonly TimeSpan ClickHouseDownTime = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan BrokerDownTime = TimeSpan.FromSeconds(5);
    private const int DownBroker = 1;

    public static string ReplicatedEngine(string table) => $"ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{table}', '{{replica}}')";

    public async Task<GuaranteeResult> RunAsync(string guarantee, CancellationToken ct)
    {
        var exactlyOnce = guarantee == "ExactlyOnce";
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var topic = $"faults_{guarantee.ToLowerInvariant()}_{suffix}";
        var table = $"default.{topic}";
        var engine = exactlyOnce ? ReplicatedEngine(topic) : "MergeTree";
        var result = new GuaranteeResult { Guarantee = guarantee, Table = table, TableEngine = engine, Topic = topic };

        kafka.CreateTopic(topic, options.Partitions);
        kafka.CreateTopic($"{topic}.dlq", DeadLetterPartitions);
        kafka.CreateTopic($"{topic}.batches", options.Partitions);
        var ddl = EventsTable.CreateStatement(table, engine);
        if (exactlyOnce)
            ddl += $"\nSETTINGS replicated_deduplication_window = {100 * options.Partitions}"; // the product warns below 100 per partition
        await server.QueryAsync(ddl, ct);

        var produceClock = Stopwatch.StartNew();
        var generator = new EventGeneratorOptions { Seed = options.Seed, MalformedFraction = options.MalformedFraction };
        var produced = await EventProducer.ProduceAsync(new ProduceRequest(kafka.BootstrapServers, topic, options.Events, generator, RoundRobin: true), null, ct);
        TopicLoader.VerifyComplete(kafka.BootstrapServers, topic, options.Partitions, options.Events);
        result.ProduceSeconds = Math.Round(produceClock.Elapsed.TotalSeconds, 2);
        result.Produced = produced.Produced;
        result.Malformed = produced.Malformed;
        result.Good = produced.Produced - produced.Malformed;
        Console.WriteLine($"[{guarantee}] produced {produced.Produced:N0} events ({produced.Malformed:N0} malformed) to '{topic}' " +
            $"({options.Partitions} partitions) in {result.ProduceSeconds:F1} s; watermarks verified");

        var args = WorkerArgs(topic, $"faults-{suffix}", table, guarantee);
        var random = new Random(options.Seed);
        var thresholds = KillThresholds(result.Good, random);
        var clickHouseAfter = options.ExtraFaults && options.Kills >= 3 ? options.Kills / 3 : -1;
        var brokerAfter = options.ExtraFaults && options.Kills >= 3 ? 2 * options.Kills / 3 : -1;

        var clock = Stopwatch.StartNew();
        var sampler = new RowCountSampler(server, table, clock);
        PipelineProcess? worker = null;
        try
        {
            for (var run = 0; run <= options.Kills; run++)
            {
                var startRows = (await sampler.SampleNowAsync(ct)).Rows;
                var startedAt = clock.Elapsed.TotalSeconds;
                worker = PipelineProcess.Start(args, logPath: Path.Combine(logDirectory, $"{guarantee}-run{run:D2}.log"));
                var current = worker;
                string? Exited() => current.HasExited ? $"the worker exited by itself: {current.Tail}" : null;
                if (startRows >= result.Good)
                {
                    // Every row was in before the kill: a restart may have nothing left to insert (or only duplicates).
                    Console.WriteLine($"[{guarantee}] every row was in before restart {run}: no more kills");
                    result.Faults.Last().Note += "; every row was already in, so no recovery to measure";
                    break;
                }
                var grew = await sampler.WaitAboveAsync(startRows, startedAt, options.StepTimeout, Exited, ct);
                if (run == 0)
                {
                    result.FirstRowsSeconds = Math.Round(grew.Seconds - startedAt, 3);
                }
                else
                {
                    var kill = result.Faults.Last(f => f.Kind == FaultKinds.WorkerKill);
                    (kill.EndedAtSeconds, kill.RecoveredAtSeconds, kill.RowsAtRecovery) = (Math.Round(startedAt, 3), Math.Round(grew.Seconds, 3), grew.Rows);
                    Console.WriteLine($"[{guarantee}] kill {run}/{options.Kills}: restarted, rows grew again after {kill.RecoverySeconds:F2} s");
                }
                if (run == options.Kills)
                    break;

                if (run + 1 == clickHouseAfter)
                    await KillClickHouseAsync(result, sampler, clock, Exited, ct);
                if (run + 1 == brokerAfter)
                    await TakeBrokerDownAsync(result, sampler, clock, Exited, ct);

                var threshold = Math.Max(thresholds[run], sampler.Latest.Rows + 1);
                if (threshold > result.Good)
                {
                    Console.WriteLine($"[{guarantee}] every row was in before kill {run + 1}: no more kills");
                    break;
                }
                var passed = await sampler.WaitAboveAsync(threshold - 1, startedAt, options.StepTimeout, Exited, ct);
                // A little more random progress, so that the kill does not always land right after a visible insert.
                await Task.Delay(random.Next(0, 400), ct);
                worker.Kill();
                var killedAt = clock.Elapsed.TotalSeconds;
                await worker.WaitForExitAsync(TimeSpan.FromSeconds(10));
                worker.Dispose();
                worker = null;
                result.Faults.Add(new FaultRecord(result.Faults.Count + 1, FaultKinds.WorkerKill, Math.Round(killedAt, 3), sampler.Latest.Rows)
                {
                    Note = $"threshold {threshold:N0} rows passed at {passed.Seconds:F2} s",
                });
            }

            await WaitForAllAsync(result, clock, worker!, ct);
            worker!.Terminate();
            result.FinalExitCode = await worker.WaitForExitAsync(TimeSpan.FromSeconds(60));
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            result.Failure = ex.Message;
            result.TotalSeconds = Math.Round(clock.Elapsed.TotalSeconds, 2);
            Console.WriteLine($"[{guarantee}] FAILED: {ex.Message}");
        }
        finally
        {
            worker?.Dispose();
            await sampler.DisposeAsync();
        }

        try
        {
            await CountAsync(result, ct);
        }
        catch (InvalidOperationException ex)
        {
            result.Failure = (result.Failure is null ? "" : result.Failure + "; ") + ex.Message;
            Console.WriteLine($"[{guarantee}] FAILED: {ex.Message}");
        }
        result.RowCountSeries = Thin(sampler.Samples);
        return result;
    }

    /// <summary>Kill i happens once count() passes about (i + 1) / (kills + 1) of the good events, jittered by a third of a step.</summary>
    private long[] KillThresholds(long good, Random random)
    {
        var step = good / (double)(options.Kills + 1);
        return [.. Enumerable.Range(1, options.Kills).Select(i => (long)(step * i + (random.NextDouble() - 0.5) * step * 0.66))];
    }

    private async Task KillClickHouseAsync(GuaranteeResult result, RowCountSampler sampler, Stopwatch clock, Func<string?> failed, CancellationToken ct)
    {
        var fault = new FaultRecord(result.Faults.Count + 1, FaultKinds.ClickHouseKill, Math.Round(clock.Elapsed.TotalSeconds, 3), sampler.Latest.Rows);
        server.Kill();
        await Task.Delay(ClickHouseDownTime, ct);
        await server.StartAgainAsync(ct);
        fault.EndedAtSeconds = Math.Round(clock.Elapsed.TotalSeconds, 3);
        var back = await sampler.SampleNowAsync(ct);
        fault.Note = $"down {ClickHouseDownTime.TotalSeconds:F0} s; restart took {fault.EndedAtSeconds - fault.AtSeconds - ClickHouseDownTime.TotalSeconds:F2} s";
        result.Faults.Add(fault);
        var grew = await sampler.WaitAboveAsync(back.Rows, fault.EndedAtSeconds.Value, options.StepTimeout, failed, ct);
        (fault.RecoveredAtSeconds, fault.RowsAtRecovery) = (Math.Round(grew.Seconds, 3), grew.Rows);
        Console.WriteLine($"[{result.Guarantee}] ClickHouse SIGKILL + restart: rows grew again {fault.RecoverySeconds:F2} s after it was back");
    }

    private async Task TakeBrokerDownAsync(GuaranteeResult result, RowCountSampler sampler, Stopwatch clock, Func<string?> failed, CancellationToken ct)
    {
        var fault = new FaultRecord(result.Faults.Count + 1, FaultKinds.BrokerDown, Math.Round(clock.Elapsed.TotalSeconds, 3), sampler.Latest.Rows);
        kafka.SetBrokerDown(DownBroker);
        await Task.Delay(BrokerDownTime, ct);
        kafka.SetBrokerUp(DownBroker);
        fault.EndedAtSeconds = Math.Round(clock.Elapsed.TotalSeconds, 3);
        var back = sampler.Latest;
        fault.Note = $"broker {DownBroker} of {kafka.BrokerCount} down {BrokerDownTime.TotalSeconds:F0} s (leader of ~1/{kafka.BrokerCount} of the partitions); " +
            $"rows grew by {back.Rows - fault.RowsAtFault:N0} while it was down";
        result.Faults.Add(fault);
        var grew = await sampler.WaitAboveAsync(back.Rows, fault.EndedAtSeconds.Value, options.StepTimeout, failed, ct);
        (fault.RecoveredAtSeconds, fault.RowsAtRecovery) = (Math.Round(grew.Seconds, 3), grew.Rows);
        Console.WriteLine($"[{result.Guarantee}] broker {DownBroker} down/up: rows grew again {fault.RecoverySeconds:F2} s after it was back");
    }

    /// <summary>Until every good event is visible and the dead letters are all there, or nothing moved for a step timeout.</summary>
    private async Task WaitForAllAsync(GuaranteeResult result, Stopwatch clock, PipelineProcess worker, CancellationToken ct)
    {
        long distinct = -1;
        var lastChange = Stopwatch.StartNew();
        while (true)
        {
            var (_, now) = await server.CountRowsAndEventsAsync(result.Table, ct);
            if (now != distinct)
            {
                distinct = now;
                lastChange.Restart();
            }
            if (distinct >= result.Good)
                break;
            if (worker.HasExited)
                throw new InvalidOperationException($"the final worker exited by itself: {worker.Tail}");
            if (lastChange.Elapsed > options.StepTimeout)
                throw new TimeoutException($"distinct event_ids stuck at {distinct:N0} of {result.Good:N0} for {options.StepTimeout.TotalSeconds} s");
            await Task.Delay(250, ct);
        }
        result.TotalSeconds = Math.Round(clock.Elapsed.TotalSeconds, 2);
        var deadline = Stopwatch.StartNew();
        while (DeadLetterReader.Count(kafka.BootstrapServers, $"{result.Topic}.dlq", DeadLetterPartitions) < result.Malformed && deadline.Elapsed < TimeSpan.FromSeconds(30))
            await Task.Delay(500, ct);
        // Give any late duplicate the time to land before counting.
        await Task.Delay(TimeSpan.FromSeconds(2), ct);
    }

    private async Task CountAsync(GuaranteeResult result, CancellationToken ct)
    {
        (result.Inserted, result.DistinctEventIds) = await server.CountRowsAndEventsAsync(result.Table, ct);
        var sources = await Task.Run(() => DeadLetterReader.ReadSources(kafka.BootstrapServers, $"{result.Topic}.dlq", DeadLetterPartitions, TimeSpan.FromSeconds(60)), ct);
        result.DeadLettered = sources.Count;
        result.DeadLetteredDistinct = sources.Distinct().Count();
    }

    private List<string> WorkerArgs(string topic, string group, string table, string guarantee)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Kafka:BootstrapServers"] = kafka.BootstrapServers,
            ["Kafka:Topic"] = topic,
            ["Kafka:GroupId"] = group,
            // A killed member never leaves its group: the next one is assigned its partitions once the session expires.
            ["Kafka:Properties:session.timeout.ms"] = "1000",
            ["Kafka:Properties:heartbeat.interval.ms"] = "250",
            ["ClickHouse:Url"] = server.HttpUrl.ToString(),
            ["ClickHouse:Database"] = table.Split('.')[0],
            ["ClickHouse:Table"] = table.Split('.')[1],
            ["Delivery:Guarantee"] = guarantee,
            ["Metrics:Port"] = "0",
        };
        if (options.BatchSize is { } size)
            values["Batch:Size"] = size.ToString(CultureInfo.InvariantCulture);
        return [.. values.Select(pair => $"--{pair.Key}={pair.Value}")];
    }

    public static IReadOnlyDictionary<string, string> DescribeWorkerSettings(FaultsOptions options) => new Dictionary<string, string>
    {
        ["session.timeout.ms"] = "1000",
        ["heartbeat.interval.ms"] = "250",
        ["batch_size"] = options.BatchSize?.ToString(CultureInfo.InvariantCulture) ?? "product default",
        ["other"] = "product defaults",
    };

    private static List<double[]> Thin(IReadOnlyList<RowSample> samples)
    {
        var thinned = new List<double[]>();
        var last = double.NegativeInfinity;
        foreach (var (i, sample) in samples.Index())
        {
            if (sample.Seconds - last >= 0.5 || i == samples.Count - 1)
            {
                thinned.Add([Math.Round(sample.Seconds, 2), sample.Rows]);
                last = sample.Seconds;
            }
        }
        return thinned;
    }
}
