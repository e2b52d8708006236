using System.Globalization;

namespace EventPipeline.Bench.Cpu;

/// <summary>Command-line options of <c>cpu</c>; checked on parse, and each error names its option.</summary>
internal sealed record CpuOptions
{
    /// <summary>
    /// The two backlog sizes whose CPU difference cancels start-up and the group join. Both drains must outlast the
    /// runtime's warm-up (tiered JIT recompiles hot methods for seconds after start): with 100k vs 450k the difference
    /// still held warm-up and read 15 µs per event where 300k vs 1.2M reads 7 µs.
    /// </summary>
    public long Small { get; init; } = 300_000;

    public long Large { get; init; } = 1_200_000;

    /// <summary>Enough that the large backlog stays under the embedded broker's ~5 MiB per partition.</summary>
    public int Partitions { get; init; } = 256;
    public int Repeat { get; init; } = 3;

    /// <summary>How often /metrics is scraped while a run drains (Prometheus' usual interval).</summary>
    public TimeSpan ScrapeInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>json or protobuf (Confluent-framed) events.</summary>
    public string Input { get; init; } = "json";

    public bool Kcat { get; init; } = true;
    public string OutputDirectory { get; init; } = "perf-data";
    public TimeSpan RunTimeout { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>
    /// Where to write a dotnet-trace CPU-sampling trace (and its top frames) of the worker during the first large drain;
    /// null for none. Tracing costs CPU, so a traced repetition is left out of the per-event figures.
    /// </summary>
    public string? TraceDirectory { get; init; }

    /// <summary>Environment variables for the worker process only (runtime knobs such as DOTNET_GCgen0size), for A/B runs.</summary>
    public IReadOnlyDictionary<string, string> WorkerEnvironment { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// A directory holding another build of the worker (its pipeline.dll), e.g. the previous commit: it runs beside this
    /// build at every size and repetition, in alternating order, and the report gives the paired difference with its interval.
    /// </summary>
    public string? BaselineDirectory { get; init; }

    /// <summary>Names the results (cpu-json-LABEL-latest.json) so that A/B runs do not overwrite each other.</summary>
    public string? Label { get; init; }

    public static CpuOptions Parse(string[] args)
    {
        var options = new CpuOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            long Number(string name) => long.Parse(Value(), CultureInfo.InvariantCulture) is > 0 and var n ? n : throw new ArgumentOutOfRangeException(name, $"{name} must be positive");
            options = args[i] switch
            {
                "--small" => options with { Small = Number("--small") },
                "--large" => options with { Large = Number("--large") },
                "--partitions" => options with { Partitions = (int)Number("--partitions") },
                "--repeat" => options with { Repeat = (int)Number("--repeat") },
                "--scrape-s" => options with { ScrapeInterval = TimeSpan.FromSeconds(Number("--scrape-s")) },
                "--input" => options with { Input = Value() is var input && input is "json" or "protobuf" ? input : throw new ArgumentException("--input must be json or protobuf") },
                "--no-kcat" => options with { Kcat = false },
                "--timeout-s" => options with { RunTimeout = TimeSpan.FromSeconds(Number("--timeout-s")) },
                "--out" => options with { OutputDirectory = Value() },
                "--trace" => options with { TraceDirectory = Value() },
                "--label" => options with { Label = Value() },
                "--baseline" => options with
                {
                    BaselineDirectory = Value() is var dir && File.Exists(Path.Combine(dir, "pipeline.dll"))
                        ? Path.GetFullPath(dir)
                        : throw new ArgumentException($"--baseline {dir}: no pipeline.dll there (build one with dotnet build src/Pipeline -c Release -o DIR)"),
                },
                "--worker-env" => options with
                {
                    WorkerEnvironment = new Dictionary<string, string>(options.WorkerEnvironment)
                    {
                        [Value() is var pair && pair.IndexOf('=') is > 0 and var eq ? pair[..eq] : throw new ArgumentException("--worker-env takes NAME=VALUE")] = pair[(eq + 1)..],
                    },
                },
                _ => throw new ArgumentException($"unknown option {args[i]}"),
            };
        }
        if (options.Large <= options.Small)
            throw new ArgumentException("--large must be larger than --small");
        return options;
    }
}
