using EventPipeline.Models.Batching;

namespace EventPipeline.Bench.Batching;

/// <summary>
/// The offered load of one profile in absolute events/s over <c>seconds</c>: the producer follows it and the
/// simulator is asked about the same function. The first four peak at 40k/s, below what this pipeline sustains on 2
/// cores (60-90k/s), so that latency measures batching, not a backlog; the last three are where batch size should
/// matter: saturation (arrivals above capacity, then a backlog to drain), merge-pressure (several workers, one table,
/// low part limits) and slow-clickhouse (every insert pays a delayed round trip; see <see cref="ProfileSetup"/>).
/// </summary>
internal sealed class BenchLoad
{
    public static readonly string[] Names = ["steady", "diurnal", "step", "bursty", "saturation", "merge-pressure", "slow-clickhouse"];

    /// <summary>The saturation profile's rate above capacity, and the rate it falls to.</summary>
    public const double SaturationRate = 100_000, AfterSaturationRate = 10_000;

    private readonly Func<double, double> _rate;

    private BenchLoad(string name, double seconds, Func<double, double> rate, string description, double? overloadEndsSeconds = null)
    {
        OverloadEndsSeconds = overloadEndsSeconds;
        Name = name;
        Seconds = seconds;
        _rate = rate;
        Description = description;
    }

    public string Name { get; }
    public double Seconds { get; }
    public string Description { get; }

    /// <summary>When the arrivals fall below capacity after an overload (saturation); null for the others.</summary>
    public double? OverloadEndsSeconds { get; }

    public double Rate(double t) => t < 0 || t >= Seconds ? 0 : _rate(t);

    /// <summary>Events offered over the whole run (numerically integrated, 1 ms steps).</summary>
    public long TotalEvents()
    {
        double total = 0;
        for (var t = 0.0005; t < Seconds; t += 0.001)
            total += Rate(t) * 0.001;
        return (long)total;
    }

    public LoadProfile ToSimulatorProfile() => LoadProfile.FromRate(Name, Seconds, Rate);

    public static BenchLoad Create(string name, double seconds) => name switch
    {
        "steady" => new(name, seconds, _ => 20_000, "constant 20k/s"),
        "diurnal" => new(name, seconds, t => 3_000 + 32_000 * 0.5 * (1 - Math.Cos(2 * Math.PI * t / seconds)),
            "one compressed day: 3k/s at night, 35k/s at noon (raised cosine)"),
        "step" => new(name, seconds, t => t < seconds / 3 || t >= 2 * seconds / 3 ? 5_000 : 35_000,
            "5k/s, then 35k/s for the middle third, then 5k/s"),
        "bursty" => Bursty(name, seconds),
        "saturation" => new(name, seconds, t => t < 0.4 * seconds ? SaturationRate : AfterSaturationRate,
            $"{SaturationRate:N0}/s (above capacity) for the first 40%, then {AfterSaturationRate:N0}/s while the backlog drains", 0.4 * seconds),
        "merge-pressure" => new(name, seconds, _ => 30_000, "constant 30k/s into one table from several workers, low part limits"),
        "slow-clickhouse" => new(name, seconds, _ => 20_000, "constant 20k/s through a delaying proxy in front of ClickHouse"),
        _ => throw new ArgumentException($"unknown profile '{name}'", nameof(name)),
    };

    /// <summary>A constant rate, for the latency bench's offered load.</summary>
    public static BenchLoad Constant(double rate, double seconds) => new("constant", seconds, _ => rate, $"constant {rate:N0}/s");

    private static BenchLoad Bursty(string name, double seconds)
    {
        // One 3-second burst at 40k/s per 10 s on average, over a 4k/s base, at times fixed by the seed.
        var random = new Random(11);
        var starts = Enumerable.Range(0, (int)(seconds / 10)).Select(_ => random.NextDouble() * (seconds - 3)).Order().ToArray();
        return new(name, seconds, t => starts.Any(s => t >= s && t < s + 3) ? 40_000 : 4_000,
            $"4k/s with {starts.Length} bursts of 3 s at 40k/s (seed 11)");
    }
}
