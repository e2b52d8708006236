using EventPipeline.Models;
using System.Diagnostics;
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
/// The pipeline with the learned codec on and off, in the same run: the same events as JSON, as envelopes of the count
/// model (the default codec; each record's CreateTime set as a producer pod sets it), as autoencoder envelopes and as
/// featurizer-only envelopes (encoded as a producer pod would), each in its own topic; the worker reads each topic into
/// a fresh table, interleaved, repeatedly. Reports events/s and the bytes the topic carried.
/// </summary>
internal static class CodecE2eBenchmark
{
    private const string RawTopic = "events_json";
    private const string CodedTopic = "events_coded";
    private const string FeaturizedTopic = "events_featurized";
    private const string CountTopic = "events_count";

    private sealed record TopicLoad(string Topic, long Messages, long ValueBytes, long Coded);

    public static async Task<int> RunAsync(string[] args)
    {
        var events = 400_000L;
        var repeat = 3;
        var partitions = 64;
        var batchSize = 100_000;
        var output = "perf-data";
        var model = Path.Combine(AppContext.BaseDirectory, "Artifacts", "codec");
        var countModel = Path.Combine(AppContext.BaseDirectory, "Artifacts", "codec-count");
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--events": events = long.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--repeat": repeat = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--partitions": partitions = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--batch-size": batchSize = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--model": model = args[++i]; break;
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
            var (raw, coded, featurized, counted) = Load(kafka, model, countModel, events, partitions);
            foreach (var load in new[] { raw, counted, coded, featurized })
                Console.WriteLine($"{load.Topic}: {load.Messages:N0} messages, {load.ValueBytes / (double)load.Messages:F1} B/event ({load.Coded:N0} coded)");

            IContender[] contenders =
            [
                new PipelineContender(batchSize, RawTopic, "codec_off"),
                new PipelineContender(batchSize, CountTopic, "codec_count", new Dictionary<string, string?> { ["Codec:Models"] = Path.GetFullPath(countModel) }),
                new PipelineContender(batchSize, CodedTopic, "codec_on", new Dictionary<string, string?> { ["Codec:Models"] = Path.GetFullPath(model) }),
                new PipelineContender(batchSize, FeaturizedTopic, "codec_featurizer_only", new Dictionary<string, string?> { ["Codec:Models"] = Path.GetFullPath(model) }),
            ];
            var runs = contenders.ToDictionary(c => c.Name, _ => new List<double>());
            for (var repetition = 1; repetition <= repeat; repetition++)
            {
                foreach (var contender in contenders)
                {
                    GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                    var run = await contender.RunAsync(context, CancellationToken.None);
                    runs[contender.Name].Add(events / run.Seconds);
                    Console.WriteLine($"[{repetition}/{repeat}] {contender.Name,-10} {events / run.Seconds,10:N0} ev/s ({run.Note})");
                    await Task.Delay(1000);
                }
            }

            var off = SampleStatistics.Median(runs["codec_off"]);
            var on = SampleStatistics.Median(runs["codec_on"]);
            var featurizerOnly = SampleStatistics.Median(runs["codec_featurizer_only"]);
            var count = SampleStatistics.Median(runs["codec_count"]);
            var verdict = $"count codec (the default): {count:N0} ev/s = {count / off:F2}x codec off, bytes on the wire {counted.ValueBytes / (double)raw.ValueBytes:F2}x " +
                          $"({counted.ValueBytes / (double)counted.Messages:F1} B/event); autoencoder codec: {on:N0} ev/s = {on / off:F2}x codec off ({off:N0}), bytes on the wire {coded.ValueBytes / (double)raw.ValueBytes:F2}x " +
                          $"({coded.ValueBytes / (double)coded.Messages:F1} vs {raw.ValueBytes / (double)raw.Messages:F1} B/event); featurizer-only envelopes: " +
                          $"{featurizerOnly:N0} ev/s = {featurizerOnly / off:F2}x, {featurized.ValueBytes / (double)featurized.Messages:F1} B/event";
            Console.WriteLine(verdict);
            Directory.CreateDirectory(output);
            var report = new
            {
                command = $"dotnet run -c Release --project bench -- codec-e2e --events {events} --repeat {repeat} --partitions {partitions} --batch-size {batchSize}",
                machine = new { cores = Environment.ProcessorCount, clickhouse_version = (await context.Client.QueryAsync("SELECT version() FORMAT TabSeparated", CancellationToken.None)).Trim() },
                note = "Every topic holds the same events (generator seed 1 after the models' 200,000 training events): JSON as generated, " +
                       "envelopes of the shipped count model (record CreateTime from the producer clock), of the shipped autoencoder and of its featurizer " +
                       "alone. events/s = until all rows are visible in ClickHouse, median of interleaved runs.",
                model = CodecArtifact.ReadMetadata(model).Version,
                count_model = CodecArtifact.ReadMetadata(countModel).Version,
                verdict,
                topics = new[] { raw, counted, coded, featurized },
                events_per_second = runs,
                median_events_per_second = new Dictionary<string, double>
                {
                    ["codec_off"] = off, ["codec_count"] = count, ["codec_on"] = on, ["codec_featurizer_only"] = featurizerOnly,
                },
            };
            var path = Path.Combine(output, "codec-e2e-latest.json");
            await File.WriteAllTextAsync(path, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
            SaveChart(runs, [raw, counted, coded, featurized], Path.Combine(output, "codec-e2e-latest.png"));
            Console.WriteLine($"Wrote {path} and codec-e2e-latest.png");
            return 0;
        }
        finally
        {
            await server.DisposeAsync();
            Directory.Delete(stateDir, recursive: true);
        }
    }

    /// <summary>Fills the four topics with the same events, round-robin over the partitions, and checks the counts.</summary>
    private static (TopicLoad Raw, TopicLoad Coded, TopicLoad Featurized, TopicLoad Counted) Load(MockKafkaCluster kafka, string model, string countModel,
        long events, int partitions)
    {
        kafka.CreateTopic(RawTopic, partitions);
        kafka.CreateTopic(RawTopic + ".dlq", 4);
        kafka.CreateTopic(CodedTopic, partitions);
        kafka.CreateTopic(CodedTopic + ".dlq", 4);
        kafka.CreateTopic(FeaturizedTopic, partitions);
        kafka.CreateTopic(FeaturizedTopic + ".dlq", 4);
        kafka.CreateTopic(CountTopic, partitions);
        kafka.CreateTopic(CountTopic + ".dlq", 4);
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = 1 });
        var decoder = new EventDecoder(new EventDecoderOptions());
        for (var i = 0; i < CodecBenchmark.TrainingEvents; i++)
            generator.Next(); // the model's training events

        using var codec = EventCodec.Load(model);
        using var featurizer = EventCodec.Load(model, featurizerOnly: true);
        using var counter = CodecArtifact.LoadModel(countModel);
        using var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig
        {
            BootstrapServers = kafka.BootstrapServers, Acks = Acks.All, EnableIdempotence = true, LingerMs = 5,
            BatchNumMessages = 10_000, QueueBufferingMaxMessages = 500_000,
        }).Build();
        Error? failure = null;
        void OnDelivery(DeliveryReport<Null, byte[]> report)
        {
            if (report.Error.IsError)
                failure ??= report.Error;
        }
        long rawBytes = 0, codedBytes = 0, codedCount = 0, featurizedBytes = 0, featurizedCount = 0, countedBytes = 0, countedCount = 0, sent = 0;
        var batch = new List<(byte[] Json, AnalyticsEvent Event)>(4096);
        var envelopes = new byte[]?[4096];
        var featurizedEnvelopes = new byte[]?[4096];
        var countedEnvelopes = new byte[]?[4096];
        var clock = Stopwatch.StartNew();
        while (sent < events)
        {
            batch.Clear();
            while (batch.Count < 4096 && sent + batch.Count < events)
            {
                var json = generator.Next().Payload;
                batch.Add((json, decoder.Decode(json).Event!));
            }
            var batchEvents = batch.Select(b => b.Event).ToList();
            codec.Encode(batchEvents, envelopes.AsSpan(0, batch.Count));
            featurizer.Encode(batchEvents, featurizedEnvelopes.AsSpan(0, batch.Count));
            var createTimes = EntropyTrainer.ProducerClock(batchEvents);
            counter.Encode(batchEvents, createTimes, countedEnvelopes.AsSpan(0, batch.Count));
            for (var i = 0; i < batch.Count; i++, sent++)
            {
                var partition = new Partition((int)(sent % partitions));
                var coded = envelopes[i] ?? EventJsonWriter.Write(batch[i].Event);
                codedCount += envelopes[i] is null ? 0 : 1;
                rawBytes += batch[i].Json.Length;
                codedBytes += coded.Length;
                TopicLoader.Produce(producer, new TopicPartition(RawTopic, partition), batch[i].Json, OnDelivery);
                TopicLoader.Produce(producer, new TopicPartition(CodedTopic, partition), coded, OnDelivery);
                var featurized = featurizedEnvelopes[i] ?? EventJsonWriter.Write(batch[i].Event);
                featurizedCount += featurizedEnvelopes[i] is null ? 0 : 1;
                featurizedBytes += featurized.Length;
                TopicLoader.Produce(producer, new TopicPartition(FeaturizedTopic, partition), featurized, OnDelivery);
                var counted = countedEnvelopes[i] ?? EventJsonWriter.Write(batch[i].Event);
                countedCount += countedEnvelopes[i] is null ? 0 : 1;
                countedBytes += counted.Length;
                TopicLoader.Produce(producer, new TopicPartition(CountTopic, partition), counted, OnDelivery, createTimes[i]);
            }
        }
        while (producer.Flush(TimeSpan.FromSeconds(1)) > 0)
        {
        }
        if (failure is not null)
            throw new KafkaException(failure);
        TopicLoader.VerifyComplete(kafka.BootstrapServers, RawTopic, partitions, events);
        TopicLoader.VerifyComplete(kafka.BootstrapServers, CodedTopic, partitions, events);
        TopicLoader.VerifyComplete(kafka.BootstrapServers, FeaturizedTopic, partitions, events);
        TopicLoader.VerifyComplete(kafka.BootstrapServers, CountTopic, partitions, events);
        Console.WriteLine($"Loaded every topic in {clock.Elapsed.TotalSeconds:F1} s; watermarks verified");
        return (new TopicLoad(RawTopic, events, rawBytes, 0), new TopicLoad(CodedTopic, events, codedBytes, codedCount),
            new TopicLoad(FeaturizedTopic, events, featurizedBytes, featurizedCount), new TopicLoad(CountTopic, events, countedBytes, countedCount));
    }

    private static void SaveChart(Dictionary<string, List<double>> runs, TopicLoad[] topics, string path)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        var speed = multiplot.GetPlot(0);
        var bytes = multiplot.GetPlot(1);
        string[] names = ["codec_off", "codec_count", "codec_on", "codec_featurizer_only"];
        var medians = names.Select(n => SampleStatistics.Median(runs[n])).ToArray();
        speed.Add.Bars(medians.Select((m, i) => new Bar { Position = i, Value = m, Label = m.ToString("N0", CultureInfo.InvariantCulture) }).ToList());
        foreach (var (i, n) in names.Index())
        {
            foreach (var v in runs[n])
                speed.Add.Marker(i, v).Color = Colors.Black;
        }
        bytes.Add.Bars(topics.Select((t, i) => new Bar { Position = i, Value = t.ValueBytes / (double)t.Messages, Label = (t.ValueBytes / (double)t.Messages).ToString("F1", CultureInfo.InvariantCulture) }).ToList());
        foreach (var plot in new[] { speed, bytes })
        {
            plot.Axes.Bottom.SetTicks([0, 1, 2, 3], names);
            plot.Axes.Margins(bottom: 0);
        }
        speed.YLabel("events/s (median; dots = runs)");
        bytes.YLabel("bytes per event in the topic");
        speed.Title("Same events as JSON, count-model envelopes, autoencoder envelopes, featurizer-only envelopes");
        multiplot.SavePng(path, 1000, 800);
    }
}
