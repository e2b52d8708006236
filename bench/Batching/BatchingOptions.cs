using System.Globalization;

namespace EventPipeline.Bench.Batching;

/// <summary>Command-line options of <c>batching</c>; checked on parse, and each error names its option.</summary>
internal sealed record BatchingOptions
{
    /// <summary>Sizes and fill times <c>--grid</c> tries: the useful range at 3k-100k ev/s with 2 concurrent inserts.</summary>
    public static readonly int[] GridStaticSizes = [5_000, 10_000, 20_000, 50_000, 100_000, 200_000];
    public static readonly int[] GridThresholdTargetsMs = [250, 500, 1000, 2000];
    public static readonly int[] GridAimdRowLatencyTargetsMs = [750, 1500];

    public string[] Profiles { get; init; } = ["steady"];

    /// <summary>How long the load is offered per policy run (the drain afterwards is not counted in it).</summary>
    public int Seconds { get; init; } = 60;

    public int Partitions { get; init; } = 64;

    /// <summary>Runs per policy; the policies take turns in a seeded random order within each repetition.</summary>
    public int Repeat { get; init; } = 10;

    /// <summary>Static sizes to run on the real pipeline; empty takes the simulator's best static size instead.</summary>
    public int[] StaticSizes { get; init; } = [];

    /// <summary>Fill times (Batch:TargetLatencyMs) of the threshold controller to run; one policy each.</summary>
    public int[] ThresholdTargetsMs { get; init; } = [1000];

    /// <summary>Batch:AimdRowLatencyTargetMs values of AIMD variants that back off on late rows, beside plain AIMD.</summary>
    public int[] AimdRowLatencyTargetsMs { get; init; } = [1000];

    /// <summary>Grid tuning: the grid's static sizes, fill times and AIMD targets (unless given), no DQN.</summary>
    public bool Grid { get; init; }

    public bool IncludeDqn { get; init; } = true;

    /// <summary>The constraint a tuned baseline and the learned policy must meet (the issue: about one insert per second per table, at most 2).</summary>
    public double MaxInsertsPerSecond { get; init; } = 2.0;

    /// <summary>Batch:MinInsertIntervalMs that holds the learned policy to <see cref="MaxInsertsPerSecond"/>.</summary>
    public int MinInsertIntervalMs => (int)Math.Ceiling(1000 / MaxInsertsPerSecond);

    /// <summary>Batch:MaxLatencyMs for every policy (the timer flush bounds every fill time: a threshold fill time above it
    /// cannot act); null: the product's default.</summary>
    public int? MaxLatencyMs { get; init; }

    /// <summary>Batch:MaxLatencyMs as the workers run it (given or the product's default), in seconds: what the simulator is told.</summary>
    public double WorkerMaxLatencySeconds => (MaxLatencyMs ?? WorkerDefaults.MaxLatencyMs) / 1000.0;

    /// <summary>Batch:MaxSize as the workers run it (the product's default).</summary>
    public int WorkerMaxSize => WorkerDefaults.MaxSize;

    private static readonly EventPipeline.Host.Configuration.BatchSettings WorkerDefaults = new();

    /// <summary>Workers in one consumer group inserting into the one table (merge-pressure uses 3 unless given).</summary>
    public int? Workers { get; init; }

    /// <summary>One-way delay the slow-clickhouse profile's proxy adds in each direction.</summary>
    public int ProxyDelayMs { get; init; } = 100;

    /// <summary>Bandwidth cap of that proxy per direction, bytes/s; null: none.</summary>
    public long? ProxyBytesPerSecond { get; init; }

    /// <summary>MergeTree parts_to_delay_insert / parts_to_throw_insert of the merge-pressure table (18.16's defaults: 150 / 300).</summary>
    public int PartsToDelayInsert { get; init; } = 20;
    public int PartsToThrowInsert { get; init; } = 60;

    /// <summary>Directory of the DQN artifact (batcher-dqn.json + weights).</summary>
    public string ModelPath { get; init; } = Path.Combine("src", "Models", "Artifacts", "batcher");

    public string OutputDirectory { get; init; } = "perf-data";

    /// <summary>A report of an earlier run: calibrate the simulator on its runs and judge the gate, without running anything.</summary>
    public string? FromReport { get; init; }

    /// <summary>Where to record the real-pipeline evaluation (ml_model_performance); null: nowhere.</summary>
    public Uri? ClickHouseUrl { get; init; }

    public string ClickHouseDatabase { get; init; } = "default";

    public static BatchingOptions Parse(string[] args)
    {
        var options = new BatchingOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int[] List(string name) => Value() is "none" ? [] : [.. args[i].Split(',').Select(s => Positive(int.Parse(s, CultureInfo.InvariantCulture), name))];
            var name = args[i];
            options = name switch
            {
                "--profile" => options with { Profiles = ParseProfile(Value()) },
                "--seconds" => options with { Seconds = Positive(int.Parse(Value(), CultureInfo.InvariantCulture), name) },
                "--partitions" => options with { Partitions = Positive(int.Parse(Value(), CultureInfo.InvariantCulture), name) },
                "--repeat" => options with { Repeat = Positive(int.Parse(Value(), CultureInfo.InvariantCulture), name) },
                "--static-sizes" => options with { StaticSizes = List(name) },
                "--threshold-targets-ms" => options with { ThresholdTargetsMs = List(name) },
                "--aimd-latency-targets-ms" => options with { AimdRowLatencyTargetsMs = List(name) },
                "--grid" => options with { Grid = true, IncludeDqn = false },
                "--no-dqn" => options with { IncludeDqn = false },
                "--max-inserts-per-second" => options with { MaxInsertsPerSecond = PositiveDouble(Value(), name) },
                "--max-latency-ms" => options with { MaxLatencyMs = Positive(int.Parse(Value(), CultureInfo.InvariantCulture), name) },
                "--workers" => options with { Workers = Positive(int.Parse(Value(), CultureInfo.InvariantCulture), name) },
                "--proxy-delay-ms" => options with { ProxyDelayMs = NotNegative(int.Parse(Value(), CultureInfo.InvariantCulture), name) },
                "--proxy-bytes-per-second" => options with { ProxyBytesPerSecond = Positive(long.Parse(Value(), CultureInfo.InvariantCulture), name) },
                "--parts-to-delay-insert" => options with { PartsToDelayInsert = Positive(int.Parse(Value(), CultureInfo.InvariantCulture), name) },
                "--parts-to-throw-insert" => options with { PartsToThrowInsert = Positive(int.Parse(Value(), CultureInfo.InvariantCulture), name) },
                "--model" => options with { ModelPath = Value() },
                "--out" => options with { OutputDirectory = Value() },
                "--from-report" => options with { FromReport = Value() },
                "--clickhouse-url" => options with { ClickHouseUrl = Uri.TryCreate(Value(), UriKind.Absolute, out var url) && url.Scheme is "http" or "https" ? url
                    : throw new ArgumentException($"--clickhouse-url '{args[i]}' is not an http(s) URL") },
                "--clickhouse-database" => options with { ClickHouseDatabase = Value() },
                _ => throw new ArgumentException($"unknown option {name}"),
            };
        }
        if (options.Grid)
        {
            options = options with
            {
                StaticSizes = options.StaticSizes.Length > 0 ? options.StaticSizes : GridStaticSizes,
                ThresholdTargetsMs = args.Contains("--threshold-targets-ms") ? options.ThresholdTargetsMs : GridThresholdTargetsMs,
                AimdRowLatencyTargetsMs = args.Contains("--aimd-latency-targets-ms") ? options.AimdRowLatencyTargetsMs : GridAimdRowLatencyTargetsMs,
            };
        }
        if (options.Seconds < 15)
            throw new ArgumentOutOfRangeException("--seconds", options.Seconds, "--seconds must be at least 15 (a profile needs room for its shape)");
        if (options.PartsToThrowInsert <= options.PartsToDelayInsert)
            throw new ArgumentOutOfRangeException("--parts-to-throw-insert", options.PartsToThrowInsert, "--parts-to-throw-insert must be above --parts-to-delay-insert");
        return options;
    }

    private static string[] ParseProfile(string value) => value switch
    {
        "all" => [.. BenchLoad.Names],
        _ => [.. value.Split(',').Select(p => BenchLoad.Names.Contains(p) ? p
            : throw new ArgumentException($"--profile '{p}' must be one of {string.Join(", ", BenchLoad.Names)} or all"))],
    };

    private static T Positive<T>(T value, string name) where T : System.Numerics.INumber<T> =>
        value > T.Zero ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive");

    private static int NotNegative(int value, string name) =>
        value >= 0 ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be 0 or more");

    private static double PositiveDouble(string text, string name) => Positive(double.Parse(text, CultureInfo.InvariantCulture), name);
}
