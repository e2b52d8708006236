namespace EventPipeline.Models.Batching;

/// <summary>One successful insert as the worker's telemetry recorded it.</summary>
public sealed record TelemetryInsert(int Rows, long Bytes, double InsertSeconds);

/// <summary>The telemetry cannot pin the cost law down; the message says what is missing and how to get it.</summary>
public sealed class InsufficientTelemetryException(string message) : Exception(message);

/// <summary>An insert cost model refitted from telemetry, with its errors on every insert it was fitted on.</summary>
public sealed record TelemetryCostFit(InsertCostModel Model, InsertCostFitQuality Quality)
{
    public const int MinimumInserts = 20;

    /// <summary>Different batch sizes (at two significant digits) the inserts must cover: with one size, the
    /// fixed cost per insert and the cost per row cannot be told apart.</summary>
    public const int MinimumBatchSizes = 3;

    /// <summary>How many times larger the largest batch must be than the smallest, for the same reason.</summary>
    public const double MinimumSizeRatio = 2;

    /// <summary>Inserts kept in the saved model's points: a week of telemetry would make a file of many megabytes.</summary>
    public const int PointsKept = 1_000;

    /// <summary>
    /// Fits insert_seconds = a + b*rows (+ c*bytes when bytes per row varies) to production inserts. Telemetry does not
    /// record how many inserts ran beside each one, so the concurrency term d is 0: the contention the worker's
    /// parallel inserts caused is already in the measured times, and so in b.
    /// </summary>
    /// <param name="source">Where the inserts come from, for the refusal message (table and time range).</param>
    /// <exception cref="InsufficientTelemetryException">Too few inserts, or too few different batch sizes.</exception>
    public static TelemetryCostFit Fit(IReadOnlyList<TelemetryInsert> inserts, string serverVersion, string source)
    {
        if (inserts.Count < MinimumInserts)
            throw new InsufficientTelemetryException(
                $"too few telemetry rows to refit the insert cost model: {inserts.Count} successful insert(s) in {source}, need at least {MinimumInserts}. " +
                "Run the worker with Telemetry:Table set for longer, or widen --since");
        var sizes = inserts.Select(i => TwoSignificantDigits(i.Rows)).Distinct().Count();
        var smallest = inserts.Min(i => i.Rows);
        var largest = inserts.Max(i => i.Rows);
        if (sizes < MinimumBatchSizes || largest < MinimumSizeRatio * smallest)
            throw new InsufficientTelemetryException(
                $"the telemetry rows do not span enough batch sizes to refit the insert cost model: {inserts.Count} successful inserts in {source} " +
                $"with {sizes} different batch size(s) from {smallest:N0} to {largest:N0} rows; need at least {MinimumBatchSizes} sizes with the largest " +
                $"at least {MinimumSizeRatio:0.#}x the smallest. Run the worker for a while with Batch:Policy=aimd or threshold (they vary the size) " +
                "or with a few different Batch:Size values, or widen --since");
        var points = inserts.Select(i => new InsertMeasurement(i.Rows, i.Bytes, 1, i.InsertSeconds)).ToList();
        var model = InsertCostModel.Fit(points, serverVersion);
        var stride = (points.Count + PointsKept - 1) / PointsKept;
        return new TelemetryCostFit(model with { Points = [.. points.Where((_, i) => i % stride == 0)] }, model.FitQuality(points));
    }

    private static double TwoSignificantDigits(int rows)
    {
        var unit = Math.Pow(10, Math.Max(0, Math.Floor(Math.Log10(rows)) - 1));
        return Math.Round(rows / unit) * unit;
    }
}
