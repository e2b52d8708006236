using EventPipeline.Models.Batching;
using EventPipeline.Models.Tracking;
using EventPipeline.Stages.ClickHouse;

namespace EventPipeline.Host.Commands;

/// <summary>
/// The insert cost model `train batcher` trains with, where it came from, and how well it predicts the inserts it
/// was fitted on (null for the built-in guess, which was fitted on nothing).
/// </summary>
/// <param name="Evaluation">ml_model_performance's evaluation for <paramref name="Quality"/>: calibration or telemetry.</param>
internal sealed record InsertCostSource(InsertCostModel Model, string Description, string Evaluation, InsertCostFitQuality? Quality)
{
    /// <summary>The file name the cost model has next to a batcher artifact.</summary>
    public const string FileName = "insert-cost-model.json";

    public static InsertCostSource Uncalibrated { get; } = new(InsertCostModel.Uncalibrated, "uncalibrated (built-in guess)", "", null);

    public bool FromTelemetry => Evaluation == "telemetry";

    /// <summary>A model from `pipeline calibrate`.</summary>
    public static InsertCostSource FromFile(FileInfo file)
    {
        var model = InsertCostModel.Load(file.FullName);
        return new InsertCostSource(model, file.Name, "calibration", model.Points.Count > 0 ? model.FitQuality(model.Points) : null);
    }

    /// <summary>Refits the model to the successful inserts the worker's telemetry recorded since <paramref name="sinceUtc"/>.</summary>
    /// <exception cref="ModelTrackingException">The telemetry table is missing or lacks columns.</exception>
    /// <exception cref="InsufficientTelemetryException">Too few inserts or batch sizes to fit.</exception>
    public static async Task<InsertCostSource> FromTelemetryAsync(ClickHouseHttpClient client, TelemetryTable telemetry, DateTime sinceUtc,
        CancellationToken cancellationToken)
    {
        await telemetry.CheckAsync(cancellationToken).ConfigureAwait(false);
        var inserts = await telemetry.ReadSuccessfulInsertsAsync(sinceUtc, cancellationToken).ConfigureAwait(false);
        var serverVersion = (await client.QueryAsync("SELECT version()", cancellationToken).ConfigureAwait(false)).Trim();
        var range = $"{telemetry.Name} since {sinceUtc:yyyy-MM-dd HH:mm:ss} UTC";
        var fit = TelemetryCostFit.Fit(inserts, serverVersion, range);
        return new InsertCostSource(fit.Model, $"telemetry {range} ({fit.Quality.Points} inserts)", "telemetry", fit.Quality);
    }
}
