using EventPipeline.Models.Batching;
using EventPipeline.Models.Tracking;
using EventPipeline.Stages.ClickHouse;

namespace EventPipeline.Bench.Batching;

/// <summary>
/// The real-pipeline evaluation in ml_model_performance (`--clickhouse-url`): one row per policy of a profile, the
/// medians over its runs, under the DQN artifact's version, beside the simulator rows `train batcher` writes. The
/// baselines are kept beside the model, as the trainer keeps them.
/// </summary>
internal static class RealPipelineRows
{
    public const string Evaluation = "real-pipeline";

    public static IReadOnlyList<ModelPerformanceRow> Create(string profile, IEnumerable<PolicySummary> summaries, string modelPath, DateTime timestamp)
    {
        var version = BatcherArtifact.ReadMetadata(modelPath).Version;
        return [.. summaries.Where(s => s.OkRuns > 0).Select(s => new ModelPerformanceRow
        {
            Timestamp = timestamp, ModelName = ModelPerformanceReport.BatcherModel, ModelVersion = version, Evaluation = Evaluation,
            Profile = profile, Policy = s.Policy,
            ThroughputRowsPerSecond = s.EventsPerSecond!.Median, P50Seconds = s.P50Ms!.Median / 1000, P95Seconds = s.P95Ms!.Median / 1000,
            P99Seconds = s.P99Ms!.Median / 1000, InsertsPerSecond = s.InsertsPerSecond!.Median,
        })];
    }

    /// <summary>Checks the table, then writes the rows; a table to create or upgrade is named in the exception.</summary>
    public static async Task WriteAsync(Uri url, string database, IReadOnlyList<ModelPerformanceRow> rows, CancellationToken ct)
    {
        using var client = new ClickHouseHttpClient(url, database, null, null, TimeSpan.FromMinutes(1));
        var table = new ModelPerformanceTable(client, ModelPerformanceTable.DefaultName);
        await table.CheckAsync(ct);
        await table.WriteAsync([.. rows], ct);
        Console.WriteLine($"Recorded {rows.Count} real-pipeline rows in {table.Name}");
    }
}
