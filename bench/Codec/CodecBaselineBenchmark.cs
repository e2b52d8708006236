using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EventPipeline.Stages.Events;
using K4os.Compression.LZ4;
using ZstdSharp;

namespace EventPipeline.Bench.Codec;

/// <summary>
/// The classical codecs a learned event codec has to beat, measured on the same events: bytes per event on the wire
/// and encode+decode events/s, every event round-tripped and compared byte for byte.
/// </summary>
internal static class CodecBaselineBenchmark
{
    private sealed record Result(string Codec, string Dataset, int Events, double BytesPerEvent, double Ratio, double EventsPerSecond,
        double[] RunsEventsPerSecond, int Mismatches);

    public static int Run(string[] args)
    {
        var events = 100_000;
        var repeat = 3;
        var output = "perf-data";
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--events": events = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--repeat": repeat = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--out": output = args[++i]; break;
                default:
                    Console.Error.WriteLine($"unknown argument {args[i]}");
                    return 2;
            }
        }

        // Training events teach the zstd dictionary; the held-out set (another seed, other users, other apps mix)
        // is what is measured, so a dictionary cannot simply memorise the events it compresses.
        var training = Generate(events, seed: 1, appCount: 50);
        var datasets = new Dictionary<string, List<byte[]>>
        {
            ["held-out"] = Generate(events, seed: 2, appCount: 50),
            ["other-apps"] = Generate(events, seed: 3, appCount: 200),
        };
        var dictionary = DictBuilder.TrainFromBuffer(training.Take(20_000), 64 * 1024).ToArray();
        Console.WriteLine($"zstd dictionary trained on {Math.Min(20_000, training.Count):N0} training events: {dictionary.Length:N0} bytes");

        var results = new List<Result>();
        foreach (var (name, data) in datasets)
        {
            var rawBytes = data.Sum(e => (long)e.Length);
            results.Add(Measure("raw-json", name, data, rawBytes, repeat, e => e, e => e));
            results.Add(Measure("lz4-per-message", name, data, rawBytes, repeat, e => LZ4Pickler.Pickle(e), LZ4Pickler.Unpickle));
            using var zstd = new Compressor(3);
            using var unzstd = new Decompressor();
            results.Add(Measure("zstd3-per-message", name, data, rawBytes, repeat, e => zstd.Wrap(e).ToArray(), e => unzstd.Unwrap(e).ToArray()));
            using var zstdDict = new Compressor(3);
            zstdDict.LoadDictionary(dictionary);
            using var unzstdDict = new Decompressor();
            unzstdDict.LoadDictionary(dictionary);
            results.Add(Measure("zstd3-dict-per-message", name, data, rawBytes, repeat, e => zstdDict.Wrap(e).ToArray(), e => unzstdDict.Unwrap(e).ToArray()));
            results.Add(MeasureBatched("zstd3-per-1000-batch", name, data, rawBytes, repeat, 1000));
        }

        Console.WriteLine($"{"codec",-24} {"dataset",-11} {"bytes/event",12} {"ratio",7} {"events/s",12} {"mismatches",11}");
        foreach (var r in results)
            Console.WriteLine($"{r.Codec,-24} {r.Dataset,-11} {r.BytesPerEvent,12:F1} {r.Ratio,7:F2} {r.EventsPerSecond,12:N0} {r.Mismatches,11}");

        Directory.CreateDirectory(output);
        var json = JsonSerializer.Serialize(new
        {
            command = $"dotnet run -c Release --project bench -- codec --events {events} --repeat {repeat}",
            machine = new { cores = Environment.ProcessorCount, os = System.Runtime.InteropServices.RuntimeInformation.OSDescription },
            note = "Classical baselines only: the learned autoencoder codec (issue 4) is not built yet. events/s = encode+decode, one thread, median of runs.",
            dictionary_bytes = dictionary.Length,
            results,
        }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower });
        File.WriteAllText(Path.Combine(output, "codec-baselines-latest.json"), json);
        Console.WriteLine($"Wrote {Path.Combine(output, "codec-baselines-latest.json")}");
        return results.Any(r => r.Mismatches > 0) ? 1 : 0;
    }

    private static List<byte[]> Generate(int count, int seed, int appCount)
    {
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = seed, AppCount = appCount });
        return Enumerable.Range(0, count).Select(_ => generator.Next().Payload).ToList();
    }

    private static Result Measure(string codec, string dataset, List<byte[]> data, long rawBytes, int repeat, Func<byte[], byte[]> encode, Func<byte[], byte[]> decode)
    {
        var runs = new double[repeat];
        long encodedBytes = 0;
        var mismatches = 0;
        for (var run = 0; run < repeat; run++)
        {
            encodedBytes = 0;
            mismatches = 0;
            var clock = Stopwatch.StartNew();
            foreach (var original in data)
            {
                var wire = encode(original);
                encodedBytes += wire.Length;
                if (!decode(wire).AsSpan().SequenceEqual(original))
                    mismatches++;
            }
            runs[run] = data.Count / clock.Elapsed.TotalSeconds;
        }
        return new Result(codec, dataset, data.Count, (double)encodedBytes / data.Count, (double)rawBytes / encodedBytes, Median(runs), runs, mismatches);
    }

    /// <summary>zstd over newline-joined batches: what a producer batching its own messages could reach.</summary>
    private static Result MeasureBatched(string codec, string dataset, List<byte[]> data, long rawBytes, int repeat, int batchSize)
    {
        var runs = new double[repeat];
        long encodedBytes = 0;
        var mismatches = 0;
        using var zstd = new Compressor(3);
        using var unzstd = new Decompressor();
        for (var run = 0; run < repeat; run++)
        {
            encodedBytes = 0;
            mismatches = 0;
            var clock = Stopwatch.StartNew();
            for (var start = 0; start < data.Count; start += batchSize)
            {
                var batch = data.Skip(start).Take(batchSize).ToList();
                using var joined = new MemoryStream();
                foreach (var e in batch)
                {
                    joined.Write(e);
                    joined.WriteByte((byte)'\n'); // generated JSON never contains a raw newline
                }
                var wire = zstd.Wrap(joined.ToArray()).ToArray();
                encodedBytes += wire.Length;
                var lines = unzstd.Unwrap(wire).ToArray().AsSpan();
                foreach (var e in batch)
                {
                    var end = lines.IndexOf((byte)'\n');
                    if (!lines[..end].SequenceEqual(e))
                        mismatches++;
                    lines = lines[(end + 1)..];
                }
            }
            runs[run] = data.Count / clock.Elapsed.TotalSeconds;
        }
        return new Result(codec, dataset, data.Count, (double)encodedBytes / data.Count, (double)rawBytes / encodedBytes, Median(runs), runs, mismatches);
    }

    private static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
