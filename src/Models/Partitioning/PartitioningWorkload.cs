namespace EventPipeline.Models.Partitioning;

/// <summary>
/// A named key-popularity pattern for partitioning experiments: the weight of each app (index 0..Apps-1) as a function
/// of run progress p in [0, 1). Weights are relative (not normalised). The same workloads drive the simulator, the PPO
/// training and the real bench, so that a strategy is compared on the same skew everywhere.
/// </summary>
public sealed class PartitioningWorkload
{
    /// <summary>Rank of the app that draws the flash crowd (rank 0 is the hottest).</summary>
    public const int FlashCrowdRank = 20;

    /// <summary>How many times its usual weight the flash-crowd app gets during the crowd.</summary>
    public const double FlashCrowdFactor = 20;

    /// <summary>Phases of diurnal-shift: the ranking rotates by Apps/4 at each, so the hot apps change three times.</summary>
    public const int DiurnalPhases = 4;

    public static IReadOnlyList<string> Names { get; } = ["zipf-1.1", "zipf-1.5", "flash-crowd", "diurnal-shift"];

    private readonly double[] _zipfByRank;
    private readonly bool _flashCrowd;
    private readonly bool _diurnal;

    private PartitioningWorkload(string name, int apps, double exponent, bool flashCrowd, bool diurnal)
    {
        Name = name;
        Apps = apps;
        Exponent = exponent;
        _flashCrowd = flashCrowd;
        _diurnal = diurnal;
        _zipfByRank = new double[apps];
        for (int rank = 0; rank < apps; rank++)
            _zipfByRank[rank] = 1 / Math.Pow(rank + 1, exponent);
    }

    public string Name { get; }

    public int Apps { get; }

    /// <summary>The Zipf exponent s: app of rank i weighs 1/(i+1)^s.</summary>
    public double Exponent { get; }

    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <param name="apps">How many apps (keys); flash-crowd and diurnal-shift need at least <see cref="FlashCrowdRank"/>+1 and 4.</param>
    public static PartitioningWorkload Get(string name, int apps = 1000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(apps, FlashCrowdRank + 1);
        return name switch
        {
            "zipf-1.1" => new PartitioningWorkload(name, apps, 1.1, flashCrowd: false, diurnal: false),
            "zipf-1.5" => new PartitioningWorkload(name, apps, 1.5, flashCrowd: false, diurnal: false),
            "flash-crowd" => new PartitioningWorkload(name, apps, 1.1, flashCrowd: true, diurnal: false),
            "diurnal-shift" => new PartitioningWorkload(name, apps, 1.1, flashCrowd: false, diurnal: true),
            _ => throw new ArgumentException($"unknown workload '{name}' (known: {string.Join(", ", Names)})", nameof(name)),
        };
    }

    /// <summary>The weight of every app (index = app index) at <paramref name="progress"/> in [0, 1).</summary>
    public double[] WeightsAt(double progress)
    {
        var weights = new double[Apps];
        WeightsAt(progress, weights);
        return weights;
    }

    /// <summary>As <see cref="WeightsAt(double)"/>, into a caller's buffer (the simulator refills one per decision interval).</summary>
    public void WeightsAt(double progress, Span<double> weights)
    {
        if (!(progress >= 0 && progress < 1))
            throw new ArgumentOutOfRangeException(nameof(progress), progress, "must be in [0, 1)");
        if (weights.Length != Apps)
            throw new ArgumentException($"needs {Apps} weights, got {weights.Length}", nameof(weights));
        // diurnal-shift: in phase k the app at index i has rank (i + k*A/4) mod A.
        int shift = _diurnal ? (int)(progress * DiurnalPhases) * (Apps / DiurnalPhases) : 0;
        for (int index = 0; index < Apps; index++)
            weights[index] = _zipfByRank[(index + shift) % Apps];
        // The app of rank 20 is the app at index 20 here: flash-crowd does not rotate.
        if (_flashCrowd && progress >= 1.0 / 3 && progress < 2.0 / 3)
            weights[FlashCrowdRank] *= FlashCrowdFactor;
    }

    /// <summary>
    /// Which stretch of constant weights <paramref name="progress"/> falls in: the weights change only when this does,
    /// so a sampler recomputes them then and stays exact without paying for A weights per message.
    /// </summary>
    public int SegmentAt(double progress) =>
        _flashCrowd ? (progress < 1.0 / 3 ? 0 : progress < 2.0 / 3 ? 1 : 2) : _diurnal ? (int)(progress * DiurnalPhases) : 0;
}
