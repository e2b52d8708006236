using System.Security.Cryptography;
using System.Text;

namespace EventPipeline.Models.Batching;

/// <summary>
/// The agent's state and action spaces. A trained model is only valid for the exact features, their scaling
/// and the action list it was trained with: <see cref="Hash"/> covers all three and is stored with the model.
/// Change anything here and old artifacts are refused until retrained.
/// </summary>
public static class BatcherSchema
{
    public static readonly IReadOnlyList<string> Features =
    [
        "queued_log10_over_6", "arrival_rate_log10_over_6", "last_insert_seconds_clip5", "recent_p95_over_slo_clip5",
        "time_of_day_sin", "time_of_day_cos", "batch_size_index_over_last",
    ];

    /// <summary>Batch sizes the agent chooses from; ClickHouse recommends 10k-100k rows per insert.</summary>
    public static readonly IReadOnlyList<int> Actions = [1_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000];

    public static int StateSize => Features.Count;
    public static int ActionCount => Actions.Count;

    public static string Hash { get; } = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
        $"features:{string.Join(',', Features)};actions:{string.Join(',', Actions)};window:{BatcherObservation.Window}")))[..16];

    public static int NearestAction(int size)
    {
        var best = 0;
        for (var i = 1; i < Actions.Count; i++)
            if (Math.Abs(Math.Log((double)Actions[i] / size)) < Math.Abs(Math.Log((double)Actions[best] / size)))
                best = i;
        return best;
    }
}

/// <summary>
/// What the agent knows, built the same way in the simulator and in the pipeline: the batch stage's input
/// (queued rows, arrival rate, last insert time) and the sink's outcomes (age of each batch's oldest row at
/// acknowledgement, whose p95 over the last <see cref="Window"/> batches stands for the recent p95 latency).
/// Thread-safe: the sink reports outcomes from its insert tasks.
/// </summary>
public sealed class BatcherObservation
{
    public const int Window = 32;
    private readonly object _gate = new();
    private readonly double[] _ages = new double[Window];
    private int _ageCount, _ageNext;
    private BatchPolicyInputSnapshot _input;

    private readonly record struct BatchPolicyInputSnapshot(int Queued, double Rate, double LastInsert);

    public void Observe(int queued, double ratePerSecond, double lastInsertSeconds)
    {
        lock (_gate)
            _input = new BatchPolicyInputSnapshot(queued, ratePerSecond, lastInsertSeconds);
    }

    public void OnInserted(double oldestRowAgeSeconds, double insertSeconds)
    {
        lock (_gate)
        {
            _ages[_ageNext] = oldestRowAgeSeconds;
            _ageNext = (_ageNext + 1) % Window;
            _ageCount = Math.Min(Window, _ageCount + 1);
            _input = _input with { LastInsert = insertSeconds };
        }
    }

    public double RecentP95()
    {
        lock (_gate)
        {
            if (_ageCount == 0)
                return 0;
            var sorted = _ages.Take(_ageCount).Order().ToArray();
            return sorted[Math.Min(_ageCount - 1, (int)Math.Ceiling(0.95 * _ageCount) - 1)];
        }
    }

    public float[] Features(double dayFraction, int actionIndex, double sloSeconds)
    {
        var p95 = RecentP95();
        BatchPolicyInputSnapshot input;
        lock (_gate)
            input = _input;
        var angle = 2 * Math.PI * dayFraction;
        return
        [
            (float)(Math.Log10(1 + Math.Max(0, input.Queued)) / 6),
            (float)(Math.Log10(1 + Math.Max(0, input.Rate)) / 6),
            (float)Math.Min(5, input.LastInsert),
            (float)Math.Min(5, p95 / sloSeconds),
            (float)Math.Sin(angle),
            (float)Math.Cos(angle),
            (float)actionIndex / (BatcherSchema.ActionCount - 1),
        ];
    }
}

/// <summary>Reward per decision interval: throughput, minus p95 over the SLO, minus inserts beyond ~1 per second.</summary>
public sealed record RewardOptions
{
    public double SloSeconds { get; init; } = 2.0;
    public double LatencyWeight { get; init; } = 1.0;
    public double InsertRateWeight { get; init; } = 0.5;
    public double MaxInsertsPerSecond { get; init; } = 1.0;

    /// <summary>A small pull towards lower latency even under the SLO, so sizes that tie on the rest are told apart.</summary>
    public double LatencyShaping { get; init; } = 0.1;

    public double Reward(in IntervalStats s, double capacityRowsPerSecond)
    {
        var seconds = Math.Max(1e-9, s.Seconds);
        var p95 = Math.Max(s.P95Seconds, s.OldestWaitingSeconds); // rows stuck in the buffer count before they complete
        var throughput = s.Inserted / seconds / capacityRowsPerSecond;
        var overSlo = Math.Min(3, Math.Max(0, p95 / SloSeconds - 1));
        var overRate = Math.Max(0, s.Inserts / seconds - MaxInsertsPerSecond);
        return throughput - LatencyWeight * overSlo - InsertRateWeight * overRate - LatencyShaping * Math.Min(3, p95 / SloSeconds);
    }
}
