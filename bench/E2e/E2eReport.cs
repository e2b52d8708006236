using EventPipeline.Models;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace EventPipeline.Bench.E2e;

/// <summary>Medians, ratios, machine facts: printed as a table, written as JSON and drawn as a bar chart.</summary>
internal sealed class E2eReport
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public required DateTime StartedUtc { get; init; }
    public required Dictionary<string, object?> Machine { get; init; }
    public required long Events { get; init; }
    public required int Partitions { get; init; }
    public required int PeerPartitions { get; init; }
    public required int Repeat { get; init; }
    public required string PeerInput { get; init; }
    public required Dictionary<string, object?> Settings { get; init; }
    public required List<ContenderSummary> Contenders { get; init; }
    public required Dictionary<string, RatioSummary> Ratios { get; init; }

    /// <summary>Median seconds from a contender's start until count() showed every event (pipeline and peers).</summary>
    public Dictionary<string, double> TimeToAllVisibleSeconds =>
        Contenders.Where(c => !c.Name.EndsWith("ceiling", StringComparison.Ordinal)).ToDictionary(c => c.Name, c => c.MedianSeconds);

    public string RssNote => "bench_peak_rss: the bench process (mock Kafka cluster with both topics, ~1.3 GiB, lives in it too); " +
        "bench_rss_growth: peak minus RSS at the contender's start, i.e. what the contender itself added; clickhouse: polled every 50 ms.";

    public static async Task<E2eReport> CreateAsync(DateTime startedUtc, E2eContext context, IReadOnlyList<IContender> contenders,
        Dictionary<string, List<MeasuredRun>> results, CancellationToken ct)
    {
        var summaries = contenders.Select(c => ContenderSummary.From(c, results[c.Name])).ToList();
        var ratios = new Dictionary<string, RatioSummary>();
        var consume = results["consume_ceiling"];
        var sink = results["sink_ceiling"];
        foreach (var pipeline in summaries.Where(s => s.Name.StartsWith("pipeline", StringComparison.Ordinal)))
        {
            var runs = results[pipeline.Name];
            ratios[$"{pipeline.Name}/consume_ceiling"] = RatioSummary.From(runs, consume);
            ratios[$"{pipeline.Name}/sink_ceiling"] = RatioSummary.From(runs, sink);
            ratios[$"{pipeline.Name}/lower_ceiling"] = RatioSummary.From(runs, consume.Zip(sink, (a, b) =>
                a with { EventsPerSecond = a.EventsPerSecond is { } x && b.EventsPerSecond is { } y ? Math.Min(x, y) : null }).ToList());
            foreach (var peer in summaries.Where(s => s.Name.StartsWith("peer", StringComparison.Ordinal)))
                ratios[$"{pipeline.Name}/{peer.Name}"] = RatioSummary.From(runs, results[peer.Name]);
        }

        var version = (await context.Client.QueryAsync("SELECT version() FORMAT TabSeparated", ct)).Trim();
        return new E2eReport
        {
            StartedUtc = startedUtc,
            Machine = new()
            {
                ["cores"] = Environment.ProcessorCount,
                ["ram_gib"] = Math.Round((ResourceSampler.ReadMiBFromMeminfo("MemTotal") ?? 0) / 1024, 1),
                ["cpu"] = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim(),
                ["os"] = RuntimeInformation.OSDescription,
                ["dotnet"] = RuntimeInformation.FrameworkDescription,
                ["clickhouse_version"] = version,
                ["librdkafka_version"] = Confluent.Kafka.Library.VersionString,
                ["kafka"] = "librdkafka mock cluster, 3 brokers, in the bench process (group initial rebalance delay 0)",
            },
            Events = context.Events,
            Partitions = context.Options.Partitions,
            PeerPartitions = context.PeerPartitions,
            Repeat = context.Options.Repeat,
            PeerInput = "The peers read a second topic with the same events as JSON that 18.16's JSONEachRow parses " +
                "(event_timestamp 'YYYY-MM-DD hh:mm:ss' UTC, event_date, platform enum name, properties as a JSON string, " +
                "kafka_partition/kafka_offset as fields): our own JSON's epoch-ms / ISO 'T..Z' timestamps stall 18.16's Kafka engine.",
            Settings = new()
            {
                ["max_concurrent_inserts"] = context.Options.MaxConcurrentInserts,
                ["sink_batch_rows"] = context.Options.SinkBatchRows,
                ["pipeline_batch_sizes"] = context.Options.BatchSizes,
                ["kafka_engine_server_config"] = KafkaEnginePeer.ServerConfigXml.ReplaceLineEndings("").Replace("  ", "", StringComparison.Ordinal),
            },
            Contenders = summaries,
            Ratios = ratios,
        };
    }

    public void PrintTable()
    {
        Console.WriteLine();
        Console.WriteLine($"{Events:N0} events, {Partitions} partitions, {Repeat} repetitions, {Machine["cores"]} cores, ClickHouse {Machine["clickhouse_version"]}");
        Console.WriteLine($"{"contender",-20} {"median ev/s",12} {"min",10} {"max",10} {"median s",9} {"bench RSS (+growth)",20} {"CH RSS",8}  runs ok");
        foreach (var c in Contenders)
        {
            Console.WriteLine($"{c.Name,-20} {Fmt(c.MedianEventsPerSecond),12} {Fmt(c.MinEventsPerSecond),10} {Fmt(c.MaxEventsPerSecond),10} " +
                $"{c.MedianSeconds,9:F2} {c.MedianBenchPeakRssMib,8:F0} (+{c.MedianBenchRssGrowthMib,4:F0}) MiB {c.MedianClickHousePeakRssMib,5:F0}MiB  {c.Runs.Count(r => r.Failure is null)}/{c.Runs.Count}");
        }
        Console.WriteLine();
        foreach (var (name, ratio) in Ratios)
            Console.WriteLine($"{name,-45} {ratio.OfMedians,6:F2}x   per repetition: {string.Join(" ", ratio.PerRepetition.Select(r => r.ToString("F2", CultureInfo.InvariantCulture)))}");
        Console.WriteLine();
        foreach (var c in Contenders)
            Console.WriteLine($"{c.Name}: {c.Description}");
        Console.WriteLine(PeerInput);
    }

    public IReadOnlyList<string> Write(string directory) =>
        PerfDataFiles.Write(directory, "e2e", StartedUtc, JsonSerializer.Serialize(this, Json), path => E2eChart.Save(this, path));

    private static string Fmt(double? value) => value is { } v && !double.IsNaN(v) ? v.ToString("N0", CultureInfo.InvariantCulture) : "-";
}

internal sealed record ContenderSummary(string Name, string Description, double MedianEventsPerSecond, double MinEventsPerSecond,
    double MaxEventsPerSecond, double MedianSeconds, double MedianBenchPeakRssMib, double MedianBenchRssGrowthMib, double MedianClickHousePeakRssMib, List<MeasuredRun> Runs)
{
    public static ContenderSummary From(IContender contender, List<MeasuredRun> runs)
    {
        var ok = runs.Where(r => r.Failure is null).ToList();
        var rates = ok.Select(r => r.EventsPerSecond!.Value).ToList();
        return new ContenderSummary(contender.Name, contender.Description,
            Math.Round(SampleStatistics.Median(rates)), rates.Count > 0 ? Math.Round(rates.Min()) : double.NaN, rates.Count > 0 ? Math.Round(rates.Max()) : double.NaN,
            Math.Round(SampleStatistics.Median(ok.Select(r => r.Seconds!.Value)), 3),
            SampleStatistics.Median(runs.Select(r => r.BenchPeakRssMib)), SampleStatistics.Median(runs.Select(r => r.BenchRssGrowthMib)),
            SampleStatistics.Median(runs.Select(r => r.ClickHousePeakRssMib)), runs);
    }
}

/// <summary>A over B: the ratio of the medians, and A/B within each repetition (the two ran minutes apart at most).</summary>
internal sealed record RatioSummary(double OfMedians, double[] PerRepetition)
{
    public static RatioSummary From(List<MeasuredRun> a, List<MeasuredRun> b)
    {
        var perRepetition = a.Zip(b, (x, y) => x.EventsPerSecond / y.EventsPerSecond).Where(r => r is not null).Select(r => Math.Round(r!.Value, 3)).ToArray();
        var ofMedians = SampleStatistics.Median(a.Where(r => r.EventsPerSecond is not null).Select(r => r.EventsPerSecond!.Value))
            / SampleStatistics.Median(b.Where(r => r.EventsPerSecond is not null).Select(r => r.EventsPerSecond!.Value));
        return new RatioSummary(Math.Round(ofMedians, 3), perRepetition);
    }
}
