using System.Text.Json;
using System.Text.Json.Serialization;
using EventPipeline.Models.Batching;
using EventPipeline.Models.Tracking;
using EventPipeline.Tests.Infrastructure;

namespace EventPipeline.Tests.Models;

/// <summary>`pipeline train batcher --clickhouse-url` records the trained model's evaluation in ml_model_performance on ClickHouse 18.16.</summary>
[Collection(ClickHouseCollection.Name)]
public sealed class ModelPerformanceTests(ClickHouseFixture clickHouse)
{
    private const int Episodes = 2;

    /// <summary>ClickHouse quotes 64-bit integers in JSON output by default.</summary>
    private static readonly JsonSerializerOptions ReadBack = new(ModelPerformanceRow.Json) { NumberHandling = JsonNumberHandling.AllowReadingFromString };

    [Fact]
    public async Task Training_writes_one_row_per_evaluated_profile_and_policy_and_one_for_the_cost_model_fit()
    {
        var table = await DeployedTables.CreateAsync(clickHouse.Server, "ml_model_performance.sql", ModelPerformanceTable.DefaultName);
        using var output = new TemporaryDirectory("train-batcher-test-");

        var (exitCode, _, error) = await TrainBatcherCommand.RunAsync("--calibration", TrainBatcherCommand.ShippedCalibration, "--episodes", $"{Episodes}",
            "--seed", "3", "--out", output.Path, "--clickhouse-url", clickHouse.Server.HttpUrl.ToString(), "--clickhouse-table", table);

        Assert.True(exitCode == 0, error);
        var metadata = BatcherArtifact.ReadMetadata(output.Path);
        var rows = await ReadRowsAsync(table);
        var simulated = rows.Where(r => r.ModelName == ModelPerformanceReport.BatcherModel).ToList();
        Assert.Equal(metadata.Evaluation.Count, simulated.Count);
        Assert.Equal(LoadProfile.Names.Count * (BatcherSchema.Actions.Count + 4), simulated.Count); // static sweep, aimd, threshold, random, dqn
        var trainingSamples = (long)(Episodes * metadata.EpisodeSeconds); // one decision per simulated second
        foreach (var expected in metadata.Evaluation)
        {
            var row = Assert.Single(simulated, r => r.Profile == expected.Profile && r.Policy == expected.Policy);
            Assert.Equal(metadata.Version, row.ModelVersion);
            Assert.Equal("simulator", row.Evaluation);
            AssertClose(expected.ThroughputRowsPerSecond, row.ThroughputRowsPerSecond);
            AssertClose(expected.P50Seconds, row.P50Seconds);
            AssertClose(expected.P95Seconds, row.P95Seconds);
            AssertClose(expected.P99Seconds, row.P99Seconds);
            AssertClose(expected.InsertsPerSecond, row.InsertsPerSecond);
            AssertClose(expected.MeanReward, row.Reward);
            Assert.Equal(trainingSamples, row.TrainingSamples);
            Assert.Equal(expected.Policy == "dqn", row.InferenceTimeMs is not null);
            Assert.Null(row.Mae);
            Assert.Null(row.Rmse);
            Assert.Null(row.R2);
            Assert.Null(row.PredictionAccuracy);
        }

        var calibration = InsertCostModel.Load(TrainBatcherCommand.ShippedCalibration);
        var fit = Assert.Single(rows, r => r.ModelName == ModelPerformanceReport.CostModel);
        var errors = calibration.Points.Select(p => calibration.Predict(p.Rows, p.Bytes, p.Concurrency) - p.Seconds).ToList();
        Assert.Equal("calibration", fit.Evaluation);
        Assert.Equal(calibration.MeasuredAt, fit.ModelVersion);
        Assert.Equal(calibration.Points.Count, fit.TrainingSamples);
        AssertClose(calibration.R2, fit.R2); // R2 as `pipeline calibrate` computed it when it fitted the model
        AssertClose(errors.Average(Math.Abs), fit.Mae);
        AssertClose(Math.Sqrt(errors.Average(e => e * e)), fit.Rmse);
        AssertClose((double)errors.Where((e, i) => Math.Abs(e) <= 0.2 * calibration.Points[i].Seconds).Count() / errors.Count, fit.PredictionAccuracy);
        Assert.Null(fit.ThroughputRowsPerSecond);
        Assert.Null(fit.InferenceTimeMs);
    }

    [Fact]
    public async Task A_missing_table_is_refused_before_training_naming_the_ddl_that_creates_it()
    {
        using var output = new TemporaryDirectory("train-batcher-test-");

        var (exitCode, _, error) = await TrainBatcherCommand.RunAsync("--calibration", TrainBatcherCommand.ShippedCalibration, "--episodes", "1",
            "--out", output.Path, "--clickhouse-url", clickHouse.Server.HttpUrl.ToString(), "--clickhouse-table", "no_such_table");

        Assert.Equal(2, exitCode);
        Assert.Contains("default.no_such_table does not exist", error, StringComparison.Ordinal);
        Assert.Contains(ModelPerformanceTable.DdlFile, error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(output.Path, BatcherArtifact.MetadataFile)));
    }

    /// <summary>18.16 prints Float64 with 17 significant digits, not the shortest text that reads back exactly.</summary>
    private static void AssertClose(double expected, double? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected, actual.Value, 1e-12 * Math.Max(1, Math.Abs(expected)));
    }

    private async Task<List<ModelPerformanceRow>> ReadRowsAsync(string table) =>
        [.. (await clickHouse.Server.QueryAsync($"SELECT * FROM {table} FORMAT JSONEachRow"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonSerializer.Deserialize<ModelPerformanceRow>(line, ReadBack)!)];
}
