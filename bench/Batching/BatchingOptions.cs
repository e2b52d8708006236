using System.Globalization;

namespace EventPipeline.Bench.Batching;

/// <summary>Command-line options of <c>batching</c>; checked on parse, and each error names its option.</summary>
internal sealed record BatchingOptions
{
    public string[] Profiles { get; init; } = ["steady"];

    /// <summary>How long the load is offered per policy run (the drain afterwards is not counted in it).</summary>
    public int Seconds { get; init; } = 60;

    public int Partitions { get; init; } = 64;

    /// <summary>Static sizes to run on the real pipeline; empty takes the simulator's best static size instead.</summary>
    public int[] StaticSizes { get; init; } = [];

    /// <summary>Directory of the DQN artifact (batcher-dqn.json + weights).</summary>
    public string ModelPath { get; init; } = Path.Combine("src", "Models", "Artifacts", "batcher");

    public string OutputDirectory { get; init; } = "perf-data";

    public static BatchingOptions Parse(string[] args)
    {
        var options = new BatchingOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            options = args[i] switch
            {
                "--profile" => options with { Profiles = ParseProfile(Value()) },
                "--seconds" => options with { Seconds = Positive(int.Parse(Value(), CultureInfo.InvariantCulture), "--seconds") },
                "--partitions" => options with { Partitions = Positive(int.Parse(Value(), CultureInfo.InvariantCulture), "--partitions") },
                "--static-sizes" => options with
                {
                    StaticSizes = [.. Value().Split(',').Select(s => Positive(int.Parse(s, CultureInfo.InvariantCulture), "--static-sizes"))],
                },
                "--model" => options with { ModelPath = Value() },
                "--out" => options with { OutputDirectory = Value() },
                _ => throw new ArgumentException($"unknown option {args[i]}"),
            };
        }
        if (options.Seconds < 15)
            throw new ArgumentOutOfRangeException("--seconds", options.Seconds, "--seconds must be at least 15 (a profile needs room for its shape)");
        return options;
    }

    private static string[] ParseProfile(string value) => value switch
    {
        "all" => [.. BenchLoad.Names],
        _ when BenchLoad.Names.Contains(value) => [value],
        _ => throw new ArgumentException($"--profile '{value}' must be one of {string.Join(", ", BenchLoad.Names)} or all"),
    };

    private static int Positive(int value, string name) =>
        value > 0 ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive");
}
