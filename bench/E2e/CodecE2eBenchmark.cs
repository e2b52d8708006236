using EventPipeline.Models;
using System.Diagnostics;
using System.Text;
using System.Globalization;
using System.Text.Json;
using Confluent.Kafka;
using EventPipeline.Bench.Codec;
using EventPipeline.Host;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.Models.Codec;
using EventPipeline.Stages.Events;
using Microsoft.Extensions.Logging;
using ScottPlot;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Bench.E2e;

/// <summary>
/// The worker draining the same events in the forms a user would send them, in the same run: JSON as generated, JSON
/// under the producer's zstd and lz4, and the shipped count model's envelopes (mode 3, app_id from the record key, as
/// `pipeline produce` sends them) without and with the producer's zstd. Every record is keyed by its app_id and
/// stamped with the producer clock's CreateTime. The worker reads each topic into a fresh table, interleaved,
/// repeatedly. Reports events/s, the worker's and ClickHouse's CPU per event, and the bytes each topic carried.
/// </summary>
internal static class CodecE2eBenchmark
{
    /// <param name="Name">The contender's name; its topic is events_NAME.</param>
    /// <param name="Payload">json or count (the count model's envelopes).</param>
    /// <param name="Compression">The producer's compression.type.</param>
    private sealed record TopicSpec(string Name, string Payload, string Compression)
    {
        public string Topic => $"events_{Name}";
    }

    /// <param name="ValueBytes">The record values as produced (before the producer's compression).</param>
    /// <param name="TxBytes">What the loading producer sent (librdkafka tx_bytes), framing and keys included.</param>
    private sealed record TopicLoad(string Topic, string Payload, string Compression, long Messages, long ValueBytes, long Coded, long TxBytes, double MessagesPerBatch);

    private static readonly TopicSpec[] Specs =
    [
        new("json", "json", "none"),
        new("json_zstd", "json", "zstd"),
        new("json_lz4", "json", "lz4"),
        new("count", "count", "none"),
        new("count_zstd", "count", "zstd"),
    ];

    /// <summary>Messages per producer batch in every topic.</summary>
    private const int BatchMessages = 1_000;

    /// <summary>The events: another seed than the models' training events (other users and devices of the same world).</summary>
    private const int Seed = 2;

    public static async Task<int> RunAsync(string[] args)
    {
        var events = 400_000L;
        var repeat = 3;
        var partitions = 64;
        var batchSize = 100_000;
        var output = "perf-data";
        var countModel = Path.Combine(AppContext.BaseDirectory, "Artifacts", "codec-count");
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--events": events = long.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--repeat": repeat = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--partitions": partitions = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--batch-size": batchSize = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--count-model": countModel = args[++i]; break;
                case "--out": output = args[++i]; break;
                default:
                    Console.Error.WriteLine($"unknown argument {args[i]}");
                    return 2;
            }
        }

        using var loggerFactory = Logging.Create(minimum: LogLevel.Warning);
        var stateDir = Path.Combine(Path.GetTempPath(), $"bench-clickhouse-{Guid.NewGuid():N}");
        using var kafka = MockKafkaCluster.Start(brokers: 3);
        kafka.SetInitialRebalanceDelay(TimeSpan.Zero);
        var server = await LocalClickHouseServer.StartAsync(stateDir, new LocalClickHouseOptions(), CancellationToken.None);
        try
        {
            var context = new E2eContext(new E2eOptions { Events = events, Partitions = partitions, Repeat = repeat }, kafka, server, loggerFactory);
            await server.QueryAsync($"CREATE DATABASE IF NOT EXISTS {E2eContext.Database}", CancellationToken.None);
            var loads = Load(kafka, countModel, (int)events, partitions);
            foreach (var load in loads)
            {
                Console.WriteLine($"{load.Topic}: {load.Messages:N0} messages, values {load.ValueBytes / (double)load.Messages:F1} B/event, " +
                                  $"sent {load.TxBytes / (double)load.Messages:F1} B/event ({load.Coded:N0} coded, {load.MessagesPerBatch:F0} messages per batch)");
            }

            var codecSettings = new Dictionary<string, string?> { ["Codec:Models"] = Path.GetFullPath(countModel) };
            IContender[] contenders =
            [
                .. Specs.Select(spec => new PipelineContender(batchSize, spec.Topic, spec.Name, spec.Payload == "count" ? codecSettings : null)),
            ];
            // Untimed: JIT, the codec's first load and the first zstd topic would otherwise land on repetition 1.
            foreach (var warmUp in contenders.Where(c => c.Name is "json" or "count_zstd"))
                await warmUp.RunAsync(context, CancellationToken.None);
            var runs = contenders.ToDictionary(c => c.Name, _ => new List<ContenderRun>());
            for (var repetition = 1; repetition <= repeat; repetition++)
            {
                foreach (var contender in contenders)
                {
                    GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                    var run = await contender.RunAsync(context, CancellationToken.None);
                    runs[contender.Name].Add(run);
                    Console.WriteLine($"[{repetition}/{repeat}] {contender.Name,-10} {events / run.Seconds,10:N0} ev/s, worker {Micros(run.WorkerCpuSeconds, events):F2} " +
                                      $"CPU-us/event, ClickHouse {Micros(run.ServerCpuSeconds, events):F2} ({run.Note})");
                    await Task.Delay(1000);
                }
            }

            var summaries = Specs.ToDictionary(s => s.Name, s => Summarise(runs[s.Name], events));
            // Paired per repetition (the contenders of one repetition ran back to back, on the same machine state).
            var comparisons = new Dictionary<string, object>
            {
                ["count_zstd_vs_json_zstd"] = Compare(runs, "count_zstd", "json_zstd", events),
                ["count_vs_json"] = Compare(runs, "count", "json", events),
                ["count_zstd_vs_json"] = Compare(runs, "count_zstd", "json", events),
            };
            var byName = Specs.Zip(loads).ToDictionary(pair => pair.First.Name, pair => pair.Second);
            double SentPerEvent(string name) => byName[name].TxBytes / (double)events;
            var verdict =
                $"count codec + zstd: sent {SentPerEvent("count_zstd"):F1} B/event = {SentPerEvent("count_zstd") / SentPerEvent("json_zstd"):F2}x JSON + zstd " +
                $"({SentPerEvent("json_zstd"):F1}), {SentPerEvent("count_zstd") / SentPerEvent("json_lz4"):F2}x JSON + lz4 ({SentPerEvent("json_lz4"):F1}); " +
                $"worker {summaries["count_zstd"].WorkerMicrosPerEvent.Median:F2} CPU-us/event vs {summaries["json_zstd"].WorkerMicrosPerEvent.Median:F2} (JSON + zstd), " +
                $"{summaries["json"].WorkerMicrosPerEvent.Median:F2} (JSON); {summaries["count_zstd"].EventsPerSecond.Median:N0} vs {summaries["json_zstd"].EventsPerSecond.Median:N0} " +
                $"and {summaries["json"].EventsPerSecond.Median:N0} events/s";
            Console.WriteLine(verdict);
            Directory.CreateDirectory(output);
            var report = new
            {
                command = $"dotnet run -c Release --project bench -- codec-e2e --events {events} --repeat {repeat} --partitions {partitions} --batch-size {batchSize}",
                machine = new { cores = Environment.ProcessorCount, clickhouse_version = (await context.Client.QueryAsync("SELECT version() FORMAT TabSeparated", CancellationToken.None)).Trim() },
                note = $"Every topic holds the same {events:N0} events (generator seed {Seed}: other users and devices than the models' training events), keyed by app_id, " +
                       $"CreateTime from the producer clock, placed round-robin over {partitions} partitions (the mock broker keeps ~5 MiB per partition; keyed placement and " +
                       "paced producers are codec-wire's subject). Loaded by one producer per topic (acks=all, idempotence, linger.ms 100, batch.num.messages " +
                       $"{BatchMessages:N0}, as fast as it goes: every batch full, so the sent bytes are those of {BatchMessages:N0}-message batches; codec-wire " +
                       "measures realistic producer settings). count: the shipped count model's mode-3 envelopes (app_id from " +
                       "the key), what `pipeline produce` sends. events/s = from the worker's start until all rows are visible in ClickHouse; CPU = this process (the " +
                       "worker, librdkafka's decompression included) and the ClickHouse server over the same interval, per event; medians of interleaved repetitions, " +
                       "95% bootstrap intervals; ratios paired per repetition.",
                count_model = CodecArtifact.ReadMetadata(countModel).Version,
                verdict,
                topics = loads,
                contenders = summaries,
                comparisons,
            };
            var path = Path.Combine(output, "codec-e2e-latest.json");
            await File.WriteAllTextAsync(path, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
            SaveChart(summaries, loads, Path.Combine(output, "codec-e2e-latest.png"));
            Console.WriteLine($"Wrote {path} and codec-e2e-latest.png");
            return 0;
        }
        finally
        {
            await server.DisposeAsync();
            Directory.Delete(stateDir, recursive: true);
        }
    }

    private sealed record ContenderSummary(MedianInterval EventsPerSecond, MedianInterval WorkerMicrosPerEvent, MedianInterval ServerMicrosPerEvent);

    private static double Micros(double? cpuSeconds, long events) => (cpuSeconds ?? double.NaN) * 1e6 / events;

    private static ContenderSummary Summarise(List<ContenderRun> runs, long events) => new(
        MedianInterval.From([.. runs.Select(r => events / r.Seconds)]),
        MedianInterval.From([.. runs.Select(r => Micros(r.WorkerCpuSeconds, events))]),
        MedianInterval.From([.. runs.Select(r => Micros(r.ServerCpuSeconds, events))]));

    /// <summary>A's figure over B's in each repetition: the ratios' median and its interval.</summary>
    private static object Compare(Dictionary<string, List<ContenderRun>> runs, string a, string b, long events) => new
    {
        events_per_second_ratio = MedianInterval.From([.. runs[a].Zip(runs[b], (x, y) => y.Seconds / x.Seconds)]),
        worker_cpu_ratio = MedianInterval.From([.. runs[a].Zip(runs[b], (x, y) => Micros(x.WorkerCpuSeconds, events) / Micros(y.WorkerCpuSeconds, events))]),
    };

    /// <summary>Fills one topic per <see cref="Specs"/> entry with the same events, round-robin over the partitions, and checks the counts.</summary>
    private static List<TopicLoad> Load(MockKafkaCluster kafka, string countModel, int events, int partitions)
    {
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = Seed });
        var decoder = new EventDecoder(new EventDecoderOptions());
        var json = new byte[events][];
        var decoded = new AnalyticsEvent[events];
        for (var i = 0; i < events; i++)
        {
            json[i] = generator.Next().Payload;
            decoded[i] = decoder.Decode(json[i]).Event!;
        }
        var createTimes = EntropyTrainer.ProducerClock(decoded);
        var keys = decoded.Select(e => Encoding.UTF8.GetBytes(e.AppId)).ToArray();
        using var codec = (EntropyCodec)CodecArtifact.LoadModel(countModel);
        codec.AppIdFromKey = true; // mode 3, as `pipeline produce` sends
        var envelopes = new byte[]?[events];
        const int chunk = 4096;
        for (var start = 0; start < events; start += chunk)
        {
            var length = Math.Min(chunk, events - start);
            codec.Encode(new ArraySegment<AnalyticsEvent>(decoded, start, length), createTimes.AsSpan(start, length), envelopes.AsSpan(start, length));
        }
        var counted = envelopes.Select((e, i) => e ?? EventJsonWriter.Write(decoded[i])).ToArray();
        var coded = envelopes.Count(e => e is not null);

        var loads = new List<TopicLoad>();
        var clock = Stopwatch.StartNew();
        foreach (var spec in Specs)
        {
            kafka.CreateTopic(spec.Topic, partitions);
            kafka.CreateTopic(spec.Topic + ".dlq", 4);
            var values = spec.Payload == "count" ? counted : json;
            var (txBytes, messagesPerBatch) = Produce(kafka.BootstrapServers, spec.Topic, spec.Compression, partitions, keys, values, createTimes);
            TopicLoader.VerifyComplete(kafka.BootstrapServers, spec.Topic, partitions, events);
            loads.Add(new TopicLoad(spec.Topic, spec.Payload, spec.Compression, events, values.Sum(v => (long)v.Length),
                spec.Payload == "count" ? coded : 0, txBytes, messagesPerBatch));
        }
        Console.WriteLine($"Loaded every topic in {clock.Elapsed.TotalSeconds:F1} s; watermarks verified");
        return loads;
    }

    private static (long TxBytes, double MessagesPerBatch) Produce(string bootstrap, string topic, string compression, int partitions, byte[][] keys, byte[][] values, long[] createTimes)
    {
        var statistics = new ProducerTxStatistics(topic);
        var config = new ProducerConfig
        {
            // Batches of 1,000 messages in every topic (a full linger fills them at load speed), so that the topics differ in payload
            // only: left to timing, one topic's batches held 150 messages and the next one's 4,600, which moved both its bytes and its drain speed.
            BootstrapServers = bootstrap, Acks = Acks.All, EnableIdempotence = true, LingerMs = 100, BatchNumMessages = BatchMessages,
            QueueBufferingMaxMessages = 500_000, CompressionType = Enum.Parse<CompressionType>(compression, ignoreCase: true), StatisticsIntervalMs = 100,
        };
        Error? failure = null;
        using var producer = new ProducerBuilder<byte[], byte[]>(config).SetStatisticsHandler((_, s) => statistics.OnStatistics(s)).Build();
        for (var i = 0; i < values.Length; i++)
        {
            TopicLoader.Produce(producer, new TopicPartition(topic, new Partition(i % partitions)),
                new Message<byte[], byte[]> { Key = keys[i], Value = values[i], Timestamp = new Timestamp(createTimes[i], TimestampType.CreateTime) },
                report => failure ??= report.Error.IsError ? report.Error : null);
        }
        while (producer.Flush(TimeSpan.FromSeconds(1)) > 0)
        {
        }
        if (failure is not null)
            throw new KafkaException(failure);
        return statistics.WaitForFinal();
    }

    private static void SaveChart(Dictionary<string, ContenderSummary> summaries, List<TopicLoad> loads, string path)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(3);
        var speed = multiplot.GetPlot(0);
        var cpu = multiplot.GetPlot(1);
        var bytes = multiplot.GetPlot(2);
        var names = Specs.Select(s => s.Name).ToArray();
        void Bars(Plot plot, Func<int, double> value, string format, Func<int, IEnumerable<double>>? points = null)
        {
            plot.Add.Bars(names.Select((_, i) => new Bar { Position = i, Value = value(i), Label = value(i).ToString(format, CultureInfo.InvariantCulture) }).ToList());
            for (var i = 0; i < names.Length && points is not null; i++)
            {
                foreach (var v in points(i))
                    plot.Add.Marker(i, v).Color = Colors.Black;
            }
            plot.Axes.Bottom.SetTicks([.. names.Select((_, i) => (double)i)], names);
            plot.Axes.Margins(bottom: 0);
        }
        Bars(speed, i => summaries[names[i]].EventsPerSecond.Median, "N0", i => summaries[names[i]].EventsPerSecond.PerRepetition);
        Bars(cpu, i => summaries[names[i]].WorkerMicrosPerEvent.Median, "F2", i => summaries[names[i]].WorkerMicrosPerEvent.PerRepetition);
        Bars(bytes, i => loads[i].TxBytes / (double)loads[i].Messages, "F1");
        speed.YLabel("events/s");
        cpu.YLabel("CPU-us per event");
        bytes.YLabel("B/event sent");
        speed.Title("Events/s until all rows are visible (bars: medians, dots: repetitions)");
        cpu.Title("Worker CPU per event (librdkafka's decompression included)");
        bytes.Title("Bytes per event the loading producer sent (librdkafka tx_bytes)");
        multiplot.SavePng(path, 1000, 1100);
    }
}
