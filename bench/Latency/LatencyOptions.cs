using System.Globalization;

namespace EventPipeline.Bench.Latency;

/// <summary>Command-line options of <c>latency</c>; checked on parse, and each error names its option.</summary>
internal sealed record LatencyOptions
{
    /// <summary>The maximum sustainable rate in events/s; null: measured by draining a backlog of <see cref="BacklogEvents"/>.</summary>
    public double? MaxRate { get; init; }

    /// <summary>The backlog drained to measure the maximum rate; a few Batch:Size batches at least.</summary>
    public long BacklogEvents { get; init; } = 450_000;

    /// <summary>Offered load, in percent of the maximum rate.</summary>
    public int[] Levels { get; init; } = [25, 50, 75];

    public int Partitions { get; init; } = 128;
    public int Repeat { get; init; } = 3;

    /// <summary>Measured seconds of one run, after its warm-up.</summary>
    public int Seconds { get; init; } = 30;

    /// <summary>Paced load before the measurement of each run starts; its rows are left out.</summary>
    public int WarmUpSeconds { get; init; } = 5;

    /// <summary>How often /metrics is scraped while the worker runs (Prometheus' usual interval).</summary>
    public TimeSpan ScrapeInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>A drain (the backlog, or what a run produced) still unfinished after this fails the bench.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(180);

    public string OutputDirectory { get; init; } = "perf-data";

    /// <summary>Worker configuration on top of the defaults (Key=Value), for comparing settings; empty: a user's defaults.</summary>
    public IReadOnlyList<string> WorkerSettings { get; init; } = [];

    /// <summary>Names the results (latency-LABEL-latest.json) so that runs of other settings do not overwrite the defaults'.</summary>
    public string? Label { get; init; }

    public static LatencyOptions Parse(string[] args)
    {
        var options = new LatencyOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            long Number(string name) => long.Parse(Value(), CultureInfo.InvariantCulture) is > 0 and var n ? n : throw new ArgumentOutOfRangeException(name, $"{name} must be positive");
            options = args[i] switch
            {
                "--max-rate" => options with { MaxRate = Number("--max-rate") },
                "--backlog" => options with { BacklogEvents = Number("--backlog") },
                "--levels" => options with
                {
                    Levels = [.. Value().Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture) is > 0 and <= 100 and var level
                        ? level : throw new ArgumentOutOfRangeException("--levels", "--levels are percentages of the maximum rate, each in 1..100"))],
                },
                "--partitions" => options with { Partitions = (int)Number("--partitions") },
                "--repeat" => options with { Repeat = (int)Number("--repeat") },
                "--seconds" => options with { Seconds = (int)Number("--seconds") },
                "--warmup-s" => options with { WarmUpSeconds = (int)Number("--warmup-s") },
                "--scrape-s" => options with { ScrapeInterval = TimeSpan.FromSeconds(Number("--scrape-s")) },
                "--timeout-s" => options with { DrainTimeout = TimeSpan.FromSeconds(Number("--timeout-s")) },
                "--out" => options with { OutputDirectory = Value() },
                "--label" => options with { Label = Value() },
                "--worker-setting" => options with
                {
                    WorkerSettings = [.. options.WorkerSettings, Value() is var setting && setting.IndexOf('=') > 0 && setting.Contains(':')
                        ? setting : throw new ArgumentException("--worker-setting takes Section:Key=Value")],
                },
                _ => throw new ArgumentException($"unknown option {args[i]}"),
            };
        }
        if (options.Levels.Distinct().Count() != options.Levels.Length)
            throw new ArgumentException("--levels must not repeat a level");
        return options;
    }
}
