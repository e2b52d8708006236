using System.Globalization;

namespace EventPipeline.Bench.Faults;

/// <summary>Command-line options of <c>faults</c>; checked on parse, and each error names its option.</summary>
internal sealed record FaultsOptions
{
    public static readonly string[] Guarantees = ["ExactlyOnce", "AtLeastOnce"];

    public int Kills { get; init; } = 20;
    public long Events { get; init; } = 2_000_000;
    public int Partitions { get; init; } = 256;

    /// <summary>ExactlyOnce, AtLeastOnce or both (each on its own fresh topic, group and table).</summary>
    public string[] Guarantee { get; init; } = Guarantees;

    public double MalformedFraction { get; init; } = 0.01;
    public int Seed { get; init; } = 7;

    /// <summary>One ClickHouse SIGKILL + restart and one broker down/up between worker kills.</summary>
    public bool ExtraFaults { get; init; } = true;

    /// <summary>Batch:Size of the worker; null keeps the product's default.</summary>
    public int? BatchSize { get; init; }

    public string OutputDirectory { get; init; } = "perf-data";

    /// <summary>A step (first rows after a restart, the next kill threshold, the final rows) that takes longer fails the run.</summary>
    public TimeSpan StepTimeout { get; init; } = TimeSpan.FromSeconds(180);

    public static FaultsOptions Parse(string[] args)
    {
        var options = new FaultsOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            options = args[i] switch
            {
                "--kills" => options with { Kills = (int)NonNegative(int.Parse(Value(), CultureInfo.InvariantCulture), "--kills") },
                "--events" => options with { Events = Positive(long.Parse(Value(), CultureInfo.InvariantCulture), "--events") },
                "--partitions" => options with { Partitions = (int)Positive(int.Parse(Value(), CultureInfo.InvariantCulture), "--partitions") },
                "--guarantee" => options with { Guarantee = ParseGuarantee(Value()) },
                "--malformed" => options with { MalformedFraction = Fraction(double.Parse(Value(), CultureInfo.InvariantCulture), "--malformed") },
                "--seed" => options with { Seed = int.Parse(Value(), CultureInfo.InvariantCulture) },
                "--batch-size" => options with { BatchSize = (int)Positive(int.Parse(Value(), CultureInfo.InvariantCulture), "--batch-size") },
                "--step-timeout-s" => options with { StepTimeout = TimeSpan.FromSeconds(Positive(int.Parse(Value(), CultureInfo.InvariantCulture), "--step-timeout-s")) },
                "--no-extra-faults" => options with { ExtraFaults = false },
                "--out" => options with { OutputDirectory = Value() },
                _ => throw new ArgumentException($"unknown option {args[i]}"),
            };
        }
        return options;
    }

    private static string[] ParseGuarantee(string value) => value switch
    {
        "both" => Guarantees,
        "ExactlyOnce" or "AtLeastOnce" => [value],
        _ => throw new ArgumentException($"--guarantee '{value}' must be ExactlyOnce, AtLeastOnce or both"),
    };

    private static long Positive(long value, string name) =>
        value > 0 ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive");

    private static long NonNegative(long value, string name) =>
        value >= 0 ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must not be negative");

    private static double Fraction(double value, string name) =>
        value is >= 0 and < 1 ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [0, 1)");
}
