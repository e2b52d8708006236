using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Confluent.Kafka;
using EventPipeline.DevTools.Events;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.Models.Codec;
using EventPipeline.Stages.Events;
using ScottPlot;

namespace EventPipeline.Bench.Codec;

/// <summary>
/// What a producer actually sends: the same events as canonical JSON and as codec envelopes, produced keyed by
/// app_id at a fixed rate with Kafka's own compression (zstd, lz4) at several linger.ms and partition counts against
/// the embedded mock cluster; bytes per event = librdkafka's own <c>tx_bytes</c> (every byte written to the brokers,
/// request framing included) over the events. Messages per batch from the topic's <c>batchcnt</c> statistics.
/// </summary>
internal static class CodecWireBenchmark
{
    internal sealed record Result(string Payload, string Dataset, string Compression, int LingerMs, int Partitions, int Events, double Rate,
        double TxBytesPerEvent, double ValueBytesPerEvent, double MessagesPerBatch, long Failed);

    public static int Run(string[] args)
    {
        var events = 60_000;
        var rate = 20_000;
        var output = "perf-data";
        int[] lingers = [5, 50];
        int[] partitionCounts = [64, 128];
        string[] compressions = ["zstd", "lz4"];
        var countModel = Path.Combine(AppContext.BaseDirectory, "Artifacts", "codec-count");
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--events": events = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--rate": rate = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--linger-ms": lingers = [.. args[++i].Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture))]; break;
                case "--partitions": partitionCounts = [.. args[++i].Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture))]; break;
                case "--count-model": countModel = args[++i]; break;
                case "--out": output = args[++i]; break;
                default:
                    Console.Error.WriteLine($"unknown argument {args[i]}");
                    return 2;
            }
        }
        var started = DateTime.UtcNow;
        using var codec = CodecArtifact.LoadModel(countModel);
        using var keyed = (EntropyCodec)CodecArtifact.LoadModel(countModel);
        keyed.AppIdFromKey = true;
        var datasets = new Dictionary<string, List<AnalyticsEvent>>
        {
            ["held-out"] = GeneratedEvents.Decoded(events, seed: 2, EventDistribution.Training),
            ["shifted"] = GeneratedEvents.Decoded(events, seed: 3, EventDistribution.Shifted),
        };
        using var kafka = MockKafkaCluster.Start(brokers: 3);
        var results = new List<Result>();
        foreach (var (dataset, data) in datasets)
        {
            var timestamps = EntropyTrainer.ProducerClock(data);
            var envelopes = new byte[]?[data.Count];
            codec.Encode(data, timestamps, envelopes);
            var keyedEnvelopes = new byte[]?[data.Count];
            keyed.Encode(data, timestamps, keyedEnvelopes);
            var payloads = new Dictionary<string, byte[][]>
            {
                ["json"] = [.. data.Select(e => EventJsonWriter.Write(e))],
                ["count-rans"] = [.. envelopes.Select((e, i) => e ?? EventJsonWriter.Write(data[i]))],
                [KeyedPayload] = [.. keyedEnvelopes.Select((e, i) => e ?? EventJsonWriter.Write(data[i]))],
            };
            var keys = data.Select(e => System.Text.Encoding.UTF8.GetBytes(e.AppId)).ToArray();
            foreach (var partitions in partitionCounts)
            {
                foreach (var linger in lingers)
                {
                    foreach (var compression in compressions)
                    {
                        foreach (var (payload, values) in payloads)
                        {
                            var topic = $"wire_{dataset}_{payload}_{compression}_{linger}_{partitions}".Replace('-', '_');
                            kafka.CreateTopic(topic, partitions);
                            var result = Produce(kafka.BootstrapServers, topic, keys, values, timestamps, compression, linger, rate) with
                            {
                                Payload = payload, Dataset = dataset, Partitions = partitions,
                            };
                            results.Add(result);
                            Console.WriteLine($"{dataset,-9} {payload,-11} {compression,-5} linger {linger,3} ms {partitions,4} partitions: " +
                                              $"{result.TxBytesPerEvent,6:F1} B/event sent ({result.ValueBytesPerEvent:F1} B values), {result.MessagesPerBatch:F1} msgs/batch, {result.Failed} failed");
                        }
                    }
                }
            }
        }
        var verdicts = results.Where(r => r.Payload != "json").Select(r =>
        {
            var json = results.Single(j => j.Payload == "json" && j.Dataset == r.Dataset && j.Compression == r.Compression && j.LingerMs == r.LingerMs && j.Partitions == r.Partitions);
            return $"{r.Dataset} {r.Compression} linger {r.LingerMs} ms {r.Partitions} partitions: {r.Payload} {r.TxBytesPerEvent:F1} vs JSON {json.TxBytesPerEvent:F1} B/event = {r.TxBytesPerEvent / json.TxBytesPerEvent:F2}x (target <= 0.60x)";
        }).ToList();
        verdicts.ForEach(Console.WriteLine);
        var report = new
        {
            command = $"dotnet run -c Release --project bench -- codec-wire --events {events} --rate {rate} --linger-ms {string.Join(',', lingers)} --partitions {string.Join(',', partitionCounts)}",
            machine = new { cores = Environment.ProcessorCount, os = System.Runtime.InteropServices.RuntimeInformation.OSDescription },
            note = "Bytes the producer sent (librdkafka statistics tx_bytes: produce requests with their framing, plus metadata) per event, " +
                   $"librdkafka {Library.VersionString}, 3 mock brokers, acks=all, idempotence, keyed by app_id (as `pipeline produce`), " +
                   $"{rate:N0} events/s from one producer. count-rans: format-2 mode-2 envelopes of model {codec.ModelId} (JSON for events it cannot code); {KeyedPayload}: the same model's mode-3 envelopes, app_id taken from the record key (what `pipeline produce` sends by default). " +
                   "held-out: training distribution, seed 2; shifted: EventDistribution.Shifted, seed 3.",
            verdicts,
            results,
        };
        var json = JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower });
        foreach (var path in PerfDataFiles.Write(output, "codec-wire", started, json, chart => SaveChart(results, chart)))
            Console.WriteLine($"Wrote {path}");
        return results.Any(r => r.Failed > 0) ? 1 : 0;
    }

    private const string KeyedPayload = "count-rans-keyed";

    private static Result Produce(string bootstrap, string topic, byte[][] keys, byte[][] values, long[] timestamps, string compression, int lingerMs, int rate)
    {
        var statistics = new ProducerTxStatistics(topic);
        var config = new ProducerConfig
        {
            BootstrapServers = bootstrap,
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = lingerMs,
            CompressionType = Enum.Parse<CompressionType>(compression, ignoreCase: true),
            StatisticsIntervalMs = 100,
        };
        long failed = 0, txBytes;
        double messagesPerBatch;
        using (var producer = new ProducerBuilder<byte[], byte[]>(config).SetStatisticsHandler((_, json) => statistics.OnStatistics(json)).Build())
        {
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < values.Length; i++)
            {
                // Paced: a producer pod sees events as they come, not a backlog (batches fill only as the rate allows).
                while (i > clock.Elapsed.TotalSeconds * rate)
                    Thread.Sleep(1);
                producer.Produce(topic, new Message<byte[], byte[]> { Key = keys[i], Value = values[i], Timestamp = new Timestamp(timestamps[i], TimestampType.CreateTime) },
                    report =>
                    {
                        if (report.Error.IsError)
                            Interlocked.Increment(ref failed);
                    });
            }
            producer.Flush(TimeSpan.FromSeconds(60));
            (txBytes, messagesPerBatch) = statistics.WaitForFinal();
        }
        return new Result("", "", compression, lingerMs, 0, values.Length, rate, (double)txBytes / values.Length,
            values.Average(v => (double)v.Length), messagesPerBatch, failed);
    }

    private static void SaveChart(IReadOnlyList<Result> results, string path)
    {
        var plot = new Plot();
        var groups = results.Select(r => (r.Dataset, r.Compression, r.LingerMs, r.Partitions)).Distinct().ToList();
        var payloads = results.Select(r => r.Payload).Distinct().ToList();
        Color[] palette = [Colors.SteelBlue, Colors.DarkOrange, Colors.SeaGreen];
        foreach (var (p, payload) in payloads.Index())
        {
            var bars = groups.Select((g, i) =>
            {
                var r = results.Single(x => x.Payload == payload && (x.Dataset, x.Compression, x.LingerMs, x.Partitions) == g);
                return new Bar { Position = i * (payloads.Count + 1) + p, Value = r.TxBytesPerEvent, FillColor = palette[p % palette.Length], Label = r.TxBytesPerEvent.ToString("F0", CultureInfo.InvariantCulture) };
            }).ToList();
            plot.Add.Bars(bars).LegendText = payload;
        }
        plot.Axes.Bottom.SetTicks([.. groups.Select((_, i) => i * (payloads.Count + 1) + (payloads.Count - 1) / 2.0)],
            [.. groups.Select(g => $"{g.Dataset}\n{g.Compression} {g.LingerMs}ms\n{g.Partitions}p")]);
        plot.Axes.Bottom.TickLabelStyle.FontSize = 10;
        plot.Axes.Margins(bottom: 0);
        plot.ShowLegend(Alignment.UpperRight);
        plot.YLabel("bytes per event sent by the producer (librdkafka tx_bytes)");
        plot.Title("On the wire after Kafka's compression: JSON vs codec envelopes (lower is better)");
        plot.SavePng(path, 1600, 700);
    }
}
