using System.Globalization;

namespace EventPipeline.Bench.Memory;

/// <summary>Command-line options of <c>memory</c>; checked on parse, and each error names its option.</summary>
internal sealed record MemoryOptions
{
    public long Small { get; init; } = 500_000;
    public long Large { get; init; } = 5_000_000;

    /// <summary>Partitions of both backlogs (the same, so that only the backlog's size differs); null: what the large one needs to fit the embedded broker.</summary>
    public int? Partitions { get; init; }

    public int Repeat { get; init; } = 1;

    /// <summary>How often the worker's VmRSS is read while it drains.</summary>
    public TimeSpan SampleInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How often /metrics is scraped while the worker drains (Prometheus' usual interval).</summary>
    public TimeSpan ScrapeInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>A drain still unfinished after this fails the bench.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(900);

    public string OutputDirectory { get; init; } = "perf-data";

    public static MemoryOptions Parse(string[] args)
    {
        var options = new MemoryOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            long Number(string name) => long.Parse(Value(), CultureInfo.InvariantCulture) is > 0 and var n ? n : throw new ArgumentOutOfRangeException(name, $"{name} must be positive");
            options = args[i] switch
            {
                "--small" => options with { Small = Number("--small") },
                "--large" => options with { Large = Number("--large") },
                "--partitions" => options with
                {
                    Partitions = Number("--partitions") is <= 100_000 and var p ? (int)p : throw new ArgumentOutOfRangeException("--partitions", "--partitions must be at most 100000"),
                },
                "--repeat" => options with { Repeat = (int)Number("--repeat") },
                "--sample-ms" => options with { SampleInterval = TimeSpan.FromMilliseconds(Number("--sample-ms")) },
                "--scrape-s" => options with { ScrapeInterval = TimeSpan.FromSeconds(Number("--scrape-s")) },
                "--timeout-s" => options with { DrainTimeout = TimeSpan.FromSeconds(Number("--timeout-s")) },
                "--out" => options with { OutputDirectory = Value() },
                _ => throw new ArgumentException($"unknown option {args[i]}"),
            };
        }
        if (options.Large <= options.Small)
            throw new ArgumentException("--large must be larger than --small");
        return options;
    }
}
