namespace EventPipeline.Models.Batching;

/// <summary>
/// Arrival rate and extra insert latency as functions of simulated time. One episode is one compressed day:
/// <c>t / Duration</c> is the time of day the agent sees. Rates are fractions of <c>capacity</c>, the rows/s one
/// insert stream reaches with 100k-row batches under the calibrated cost model, so profiles stay meaningful on
/// any server the simulator was calibrated against.
/// </summary>
public sealed class LoadProfile
{
    public static readonly IReadOnlyList<string> Names = ["steady", "diurnal", "step", "bursty", "congestion"];

    private readonly Func<double, double> _rate;
    private readonly Func<double, double> _extraLatency;

    private LoadProfile(string name, double duration, Func<double, double> rate, Func<double, double> extraLatency)
    {
        Name = name;
        Duration = duration;
        _rate = rate;
        _extraLatency = extraLatency;
    }

    public string Name { get; }
    public double Duration { get; }

    public double RatePerSecond(double t) => Math.Max(0, _rate(t));

    /// <summary>Seconds added to every insert that starts at <paramref name="t"/> (network congestion).</summary>
    public double ExtraInsertLatency(double t) => _extraLatency(t);

    public double DayFraction(double t) => t / Duration % 1.0;

    /// <summary>A profile in absolute events/s (no congestion): how the batching benchmark asks the simulator about the
    /// very load it offers the real pipeline.</summary>
    public static LoadProfile FromRate(string name, double duration, Func<double, double> ratePerSecond) =>
        new(name, duration, ratePerSecond, _ => 0);

    public static LoadProfile Create(string name, double capacity, double duration, int seed)
    {
        var random = new Random(seed);
        double None(double _) => 0;
        switch (name)
        {
            case "steady":
                return new LoadProfile(name, duration, _ => 0.25 * capacity, None);
            case "diurnal":
                // Quiet night (5%), busy afternoon (70%).
                return new LoadProfile(name, duration, t => capacity * (0.05 + 0.65 * 0.5 * (1 - Math.Cos(2 * Math.PI * t / duration))), None);
            case "step":
                return new LoadProfile(name, duration, t => capacity * (t < duration / 3 || t >= 2 * duration / 3 ? 0.05 : 0.6), None);
            case "bursty":
            {
                // 3-second bursts at 90% of capacity over a 10% base, at random times (fixed by the seed).
                var starts = Enumerable.Range(0, (int)(duration / 20)).Select(_ => random.NextDouble() * duration).Order().ToArray();
                return new LoadProfile(name, duration, t => capacity * (starts.Any(s => t >= s && t < s + 3) ? 0.9 : 0.1), None);
            }
            case "congestion":
            {
                // 40% load; two episodes a sixth of the day long where every insert takes 0.4 s more.
                var first = duration * (0.1 + 0.2 * random.NextDouble());
                var second = duration * (0.55 + 0.2 * random.NextDouble());
                var length = duration / 6;
                return new LoadProfile(name, duration, _ => 0.4 * capacity,
                    t => (t >= first && t < first + length) || (t >= second && t < second + length) ? 0.4 : 0);
            }
            default:
                throw new ArgumentException($"unknown load profile '{name}' (known: {string.Join(", ", Names)})", nameof(name));
        }
    }
}
