using System.Globalization;

namespace EventPipeline.Bench.E2e;

/// <summary>Command-line options of <c>e2e</c>; checked on parse, and each error names its option.</summary>
internal sealed record E2eOptions
{
    public long Events { get; init; } = 1_500_000;
    public int Partitions { get; init; } = 128;
    public int Repeat { get; init; } = 3;
    public int[] BatchSizes { get; init; } = [50_000, 100_000];
    public int MaxConcurrentInserts { get; init; } = 2;

    /// <summary>Rows per bare RowBinary insert of the sink ceiling.</summary>
    public int SinkBatchRows { get; init; } = 100_000;

    public bool Kcat { get; init; } = true;
    public string OutputDirectory { get; init; } = "perf-data";

    /// <summary>A contender that has not finished after this long is recorded as failed.</summary>
    public TimeSpan ContenderTimeout { get; init; } = TimeSpan.FromSeconds(240);

    public static E2eOptions Parse(string[] args)
    {
        var options = new E2eOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            options = args[i] switch
            {
                "--events" => options with { Events = Positive(long.Parse(Value(), CultureInfo.InvariantCulture), "--events") },
                "--partitions" => options with { Partitions = (int)Positive(int.Parse(Value(), CultureInfo.InvariantCulture), "--partitions") },
                "--repeat" => options with { Repeat = (int)Positive(int.Parse(Value(), CultureInfo.InvariantCulture), "--repeat") },
                "--batch-sizes" => options with
                {
                    BatchSizes = [.. Value().Split(',').Select(s => (int)Positive(int.Parse(s, CultureInfo.InvariantCulture), "--batch-sizes"))],
                },
                "--max-concurrent-inserts" => options with
                {
                    MaxConcurrentInserts = (int)Positive(int.Parse(Value(), CultureInfo.InvariantCulture), "--max-concurrent-inserts"),
                },
                "--sink-batch-rows" => options with { SinkBatchRows = (int)Positive(int.Parse(Value(), CultureInfo.InvariantCulture), "--sink-batch-rows") },
                "--timeout-s" => options with { ContenderTimeout = TimeSpan.FromSeconds(Positive(int.Parse(Value(), CultureInfo.InvariantCulture), "--timeout-s")) },
                "--no-kcat" => options with { Kcat = false },
                "--out" => options with { OutputDirectory = Value() },
                _ => throw new ArgumentException($"unknown option {args[i]}"),
            };
        }
        return options;
    }

    private static long Positive(long value, string name) =>
        value > 0 ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive");
}
