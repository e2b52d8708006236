using EventPipeline.DevTools.LocalServers;
using System.Globalization;
using System.Text;
using EventPipeline.Models.Batching;
using EventPipeline.Models.Tracking;
using EventPipeline.Tests.Infrastructure;

namespace EventPipeline.Tests.Models;

/// <summary>
/// `pipeline train batcher --from-telemetry` refits the insert cost law from telemetry rows in ClickHouse 18.16 (the
/// worker's Telemetry:Table schema), trains with it and keeps it beside the artifact; thin telemetry is refused.
/// </summary>
[Collection(ClickHouseCollection.Name)]
public sealed class TelemetryRefitTests(ClickHouseFixture clickHouse)
{
    private const double FixedSeconds = 0.012;
    private const double SecondsPerRow = 1.5e-6;
    private static readonly int[] BatchSizes = [1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000];

    private sealed record TelemetryRow(DateTime Time, int Rows, long Bytes, double InsertSeconds, bool Succeeded);

    [Fact]
    public async Task The_fitted_law_matches_the_one_the_inserts_followed_and_is_saved_beside_the_trained_artifact()
    {
        var random = new Random(5);
        var now = DateTime.UtcNow;
        var lawful = BatchSizes.SelectMany(size => Enumerable.Range(0, 30).Select(_ =>
        {
            var rows = (int)(size * (0.95 + 0.1 * random.NextDouble()));
            var seconds = (FixedSeconds + SecondsPerRow * rows) * (0.97 + 0.06 * random.NextDouble()); // +-3% noise
            return new TelemetryRow(now.AddMinutes(-random.Next(600)), rows, (long)(rows * 180 * (0.99 + 0.02 * random.NextDouble())), seconds, true);
        })).ToList();
        // Neither may move the fit: failed attempts (their time is a timeout) and inserts older than --since (another law).
        var failed = BatchSizes.Select(size => new TelemetryRow(now.AddMinutes(-5), size, size * 180L, 60, false));
        var stale = BatchSizes.Select(size => new TelemetryRow(now.AddDays(-30), size, size * 180L, 10 * (FixedSeconds + SecondsPerRow * size), true));
        var telemetry = await CreateTelemetryAsync([.. lawful, .. failed, .. stale]);
        var performance = await DeployedTables.CreateAsync(clickHouse.Server, "ml_model_performance.sql", ModelPerformanceTable.DefaultName);
        using var output = new TemporaryDirectory("train-batcher-test-");

        var (exitCode, stdout, error) = await TrainBatcherCommand.RunAsync("--from-telemetry", "--clickhouse-url", clickHouse.Server.HttpUrl.ToString(),
            "--telemetry-table", telemetry, "--since", "7d", "--clickhouse-table", performance, "--episodes", "1", "--out", output.Path);

        Assert.True(exitCode == 0, error);
        Assert.Contains("refitted from telemetry", stdout, StringComparison.Ordinal);
        var fitted = InsertCostModel.Load(Path.Combine(output.Path, "insert-cost-model.json"));
        Assert.Equal(FixedSeconds, fitted.A, 0.002);
        Assert.Equal(SecondsPerRow, fitted.B, 0.03 * SecondsPerRow);
        Assert.Equal(0, fitted.C); // bytes per row hardly varies: the bytes term is left out
        Assert.Equal(0, fitted.D); // telemetry does not record concurrency
        Assert.True(fitted.R2 > 0.99, $"R2 {fitted.R2}");
        Assert.Equal(lawful.Count, fitted.Points.Count);
        Assert.Equal(180, fitted.BytesPerRow, 2.0);

        var metadata = BatcherArtifact.ReadMetadata(output.Path);
        Assert.Equal(fitted.A, metadata.Calibration!.A); // the agent was trained with the refitted law
        Assert.Equal(fitted.B, metadata.Calibration.B);
        Assert.Contains(telemetry, metadata.CalibrationSource, StringComparison.Ordinal);
        var costRow = (await clickHouse.Server.QueryAsync(
            $"SELECT evaluation, training_samples, model_version FROM {performance} WHERE model_name = 'insert-cost-model' FORMAT TabSeparated")).Trim();
        Assert.Equal($"telemetry\t{lawful.Count}\t{fitted.MeasuredAt}", costRow);
    }

    [Fact]
    public async Task Too_few_rows_are_refused_with_the_reason_before_training()
    {
        var now = DateTime.UtcNow;
        var telemetry = await CreateTelemetryAsync([.. BatchSizes.Take(5).Select(size => new TelemetryRow(now, size, size * 180L, 0.05, true))]);
        using var output = new TemporaryDirectory("train-batcher-test-");

        var (exitCode, _, error) = await RefitAsync(telemetry, output.Path);

        Assert.Equal(2, exitCode);
        Assert.Contains("too few telemetry rows to refit the insert cost model: 5 successful insert(s)", error, StringComparison.Ordinal);
        Assert.Contains($"need at least {TelemetryCostFit.MinimumInserts}", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(output.Path, BatcherArtifact.MetadataFile)));
        Assert.False(File.Exists(Path.Combine(output.Path, "insert-cost-model.json")));
    }

    [Fact]
    public async Task Rows_of_one_batch_size_are_refused_with_the_reason()
    {
        var now = DateTime.UtcNow;
        var telemetry = await CreateTelemetryAsync([.. Enumerable.Range(0, 100).Select(i => new TelemetryRow(now, 5_000 + i % 3, 900_000, 0.02 + i * 1e-5, true))]);
        using var output = new TemporaryDirectory("train-batcher-test-");

        var (exitCode, _, error) = await RefitAsync(telemetry, output.Path);

        Assert.Equal(2, exitCode);
        Assert.Contains("do not span enough batch sizes", error, StringComparison.Ordinal);
        Assert.Contains("100 successful inserts", error, StringComparison.Ordinal);
        Assert.Contains("with 1 different batch size(s) from 5,000 to 5,002 rows", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(output.Path, BatcherArtifact.MetadataFile)));
    }

    [Fact]
    public void Since_takes_a_span_back_from_now_or_a_utc_time()
    {
        var now = new DateTime(2026, 3, 10, 12, 0, 0, DateTimeKind.Utc);
        Assert.Equal(now.AddDays(-7), TelemetryTable.ParseSince("7d", now));
        Assert.Equal(now.AddMinutes(-30), TelemetryTable.ParseSince("30m", now));
        Assert.Equal(new DateTime(2026, 1, 31, 12, 0, 0, DateTimeKind.Utc), TelemetryTable.ParseSince("2026-01-31 12:00:00", now));
        Assert.Equal(new DateTime(2026, 1, 31, 10, 0, 0, DateTimeKind.Utc), TelemetryTable.ParseSince("2026-01-31T12:00:00+02:00", now));
        Assert.Throws<FormatException>(() => TelemetryTable.ParseSince("last week", now));
    }

    private async Task<(int ExitCode, string Output, string Error)> RefitAsync(string telemetry, string output)
    {
        var performance = await DeployedTables.CreateAsync(clickHouse.Server, "ml_model_performance.sql", ModelPerformanceTable.DefaultName);
        return await TrainBatcherCommand.RunAsync("--from-telemetry", "--clickhouse-url", clickHouse.Server.HttpUrl.ToString(), "--telemetry-table", telemetry,
            "--clickhouse-table", performance, "--episodes", "1", "--out", output);
    }

    /// <summary>A telemetry table made from deploy/clickhouse/telemetry.sql, holding <paramref name="rows"/>.</summary>
    private async Task<string> CreateTelemetryAsync(IReadOnlyList<TelemetryRow> rows)
    {
        var table = await DeployedTables.CreateAsync(clickHouse.Server, "telemetry.sql", TelemetryTable.DefaultName);
        var values = new StringBuilder($"INSERT INTO {table} (time, worker, policy, rows, bytes, insert_seconds, succeeded) VALUES ");
        values.AppendJoin(", ", rows.Select(r => string.Create(CultureInfo.InvariantCulture,
            $"('{r.Time:yyyy-MM-dd HH:mm:ss}', 'test', 'static', {r.Rows}, {r.Bytes}, {r.InsertSeconds:R}, {(r.Succeeded ? 1 : 0)})")));
        await clickHouse.Server.QueryAsync(values.ToString());
        return table;
    }
}
