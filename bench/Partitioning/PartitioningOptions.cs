using System.Globalization;
using EventPipeline.Models.Partitioning;
using EventPipeline.Stages.Partitioning;

namespace EventPipeline.Bench.Partitioning;

/// <summary>Command-line options of <c>partitioning</c>; checked on parse, and each error names its option.</summary>
internal sealed record PartitioningOptions
{
    public IReadOnlyList<string> Strategies { get; init; } = ["hash", "round-robin", "pkg", "bounded-load", "d-choices", "ppo"];

    public IReadOnlyList<string> Workloads { get; init; } = PartitioningWorkload.Names;

    public int Partitions { get; init; } = 128;

    /// <summary>Distinct app_ids (keys), ranked by the workload's Zipf weights.</summary>
    public int Apps { get; init; } = 1000;

    /// <summary>Events of one run, produced at <see cref="Rate"/>.</summary>
    public long Events { get; init; } = 100_000;

    /// <summary>Offered events per second, all apps together.</summary>
    public double Rate { get; init; } = 20_000;

    public int Repeat { get; init; } = 5;

    /// <summary>The rows of a run still missing after this fail the bench.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>The learned policy's artifact; empty: the shipped one.</summary>
    public string ModelPath { get; init; } = "";

    /// <summary>Pin each worker to its own core (taskset), as the issue's setup asks; off to let the scheduler place them.</summary>
    public bool Pin { get; init; } = true;

    public string OutputDirectory { get; init; } = "perf-data";

    public static PartitioningOptions Parse(string[] args)
    {
        var options = new PartitioningOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            long Number(string name) => long.Parse(Value(), CultureInfo.InvariantCulture) is > 0 and var n ? n : throw new ArgumentOutOfRangeException(name, $"{name} must be positive");
            options = args[i] switch
            {
                "--strategies" => options with
                {
                    Strategies = [.. Value().Split(',').Select(s => PartitionStrategyNames.TryParse(s, out _)
                        ? s : throw new ArgumentException($"--strategies: '{s}' is not a strategy (known: {PartitionStrategyNames.All})"))],
                },
                "--workloads" => options with
                {
                    Workloads = [.. Value().Split(',').Select(w => PartitioningWorkload.Names.Contains(w)
                        ? w : throw new ArgumentException($"--workloads: '{w}' is not a workload (known: {string.Join(", ", PartitioningWorkload.Names)})"))],
                },
                "--partitions" => options with { Partitions = (int)Number("--partitions") },
                "--apps" => options with { Apps = (int)Number("--apps") },
                "--events" => options with { Events = Number("--events") },
                "--rate" => options with { Rate = Number("--rate") },
                "--repeat" => options with { Repeat = (int)Number("--repeat") },
                "--timeout-s" => options with { DrainTimeout = TimeSpan.FromSeconds(Number("--timeout-s")) },
                "--model" => options with { ModelPath = Value() },
                "--no-pin" => options with { Pin = false },
                "--out" => options with { OutputDirectory = Value() },
                _ => throw new ArgumentException($"unknown option {args[i]}"),
            };
        }
        if (options.Partitions < 2)
            throw new ArgumentOutOfRangeException("--partitions", "--partitions must be at least 2 (two workers share them)");
        return options;
    }
}
