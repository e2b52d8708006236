using EventPipeline.DevTools.LocalServers;
using System.Text.Json;
using System.Text.Json.Serialization;
using EventPipeline.DevTools.Events;
using EventPipeline.Models.Batching;
using EventPipeline.Models.Codec;
using EventPipeline.Models.Tracking;
using EventPipeline.Stages.Events;
using EventPipeline.Tests.Infrastructure;

namespace EventPipeline.Tests.Models;

/// <summary>`pipeline train batcher|codec --clickhouse-url` records the trained model's evaluation in ml_model_performance on ClickHouse 18.16.</summary>
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

    [Fact]
    public async Task Training_a_codec_writes_its_bytes_per_event_mismatches_and_events_per_second_on_held_out_and_shifted_events()
    {
        var table = await DeployedTables.CreateAsync(clickHouse.Server, "ml_model_performance.sql", ModelPerformanceTable.DefaultName);
        using var output = new TemporaryDirectory("train-codec-test-");
        var events = await WriteTrainingEventsAsync(output.Path);
        var model = Path.Combine(output.Path, "model");

        var (exitCode, stdout, error) = await TrainBatcherCommand.RunCodecAsync("--input", events, "--out", model, "--clickhouse-url", clickHouse.Server.HttpUrl.ToString(),
            "--clickhouse-table", table);

        Assert.True(exitCode == 0, error);
        var metadata = CodecArtifact.ReadMetadata(model);
        var rows = await ReadRowsAsync(table);
        Assert.Contains($"{rows.Count} performance rows", stdout, StringComparison.Ordinal);
        Assert.All(rows, r =>
        {
            Assert.Equal(ModelPerformanceReport.CountCodecModel, r.ModelName);
            Assert.Equal(metadata.Version, r.ModelVersion);
            Assert.Equal(metadata.TrainingEvents, r.TrainingSamples);
            Assert.Null(r.CorrectionsPerEvent);
            Assert.Null(r.Reward);
        });
        Assert.Contains($"-{metadata.ModelId}-", metadata.Version, StringComparison.Ordinal); // the id its envelopes carry
        var heldOut = Assert.Single(rows, r => r.Evaluation == "held-out" && r.Policy == ModelPerformanceReport.EnvelopePolicy);
        var shifted = Assert.Single(rows, r => r.Evaluation == "shifted" && r.Policy == ModelPerformanceReport.EnvelopePolicy);
        foreach (var row in new[] { heldOut, shifted })
        {
            Assert.InRange(row.BytesPerEvent!.Value, 1, metadata.Evaluation.CanonicalJsonBytesPerEvent);
            Assert.Equal(0, row.Mismatches);
            Assert.True(row.ThroughputRowsPerSecond > 0);
            // Per coded quantity: what the envelope spends on it, which leaves the header and the coder's state over.
            var quantities = rows.Where(r => r.Evaluation == row.Evaluation && r.Policy.StartsWith(ModelPerformanceReport.FieldPolicyPrefix, StringComparison.Ordinal)).ToList();
            Assert.Contains(quantities, q => q.Policy == "field:AppId");
            Assert.Contains(quantities, q => q.Policy == "field:Verbatim");
            Assert.All(quantities, q => Assert.True(q.BytesPerEvent >= 0 && q.Mismatches is null && q.ThroughputRowsPerSecond is null));
            Assert.InRange(quantities.Sum(q => q.BytesPerEvent!.Value), 0.5 * row.BytesPerEvent.Value, row.BytesPerEvent.Value);
        }
        // The same events the trainer held out, so the same bytes/event it wrote into the artifact.
        Assert.Equal(metadata.Evaluation.BytesPerEvent, heldOut.BytesPerEvent!.Value, 0.01);
        Assert.True(shifted.BytesPerEvent > heldOut.BytesPerEvent, "a world the model has not seen codes worse");
    }

    [Fact]
    public async Task A_table_from_before_the_codec_columns_is_refused_naming_them_and_the_upgrade_that_adds_them()
    {
        var table = await DeployedTables.CreateAsync(clickHouse.Server, "ml_model_performance.sql", ModelPerformanceTable.DefaultName);
        await clickHouse.Server.QueryAsync($"ALTER TABLE {table} " +
                                           string.Join(", ", ModelPerformanceTable.CodecColumns.Columns.Select(c => $"DROP COLUMN {c}")));
        using var output = new TemporaryDirectory("train-codec-test-");
        var events = await WriteTrainingEventsAsync(output.Path);
        var model = Path.Combine(output.Path, "model");
        string[] train = ["--input", events, "--out", model, "--clickhouse-url", clickHouse.Server.HttpUrl.ToString(), "--clickhouse-table", table];

        var (exitCode, _, error) = await TrainBatcherCommand.RunCodecAsync(train);

        Assert.Equal(2, exitCode);
        Assert.Contains($"default.{table} lacks the column(s) bytes_per_event, mismatches, corrections_per_event", error, StringComparison.Ordinal);
        Assert.Contains(ModelPerformanceTable.CodecColumns.File, error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(model, CodecArtifact.MetadataFile)));

        // The upgrade file as shipped runs on 18.16, and the upgraded table takes the codec's rows.
        await DeployedTables.UpgradeAsync(clickHouse.Server, "ml_model_performance-upgrade-1.sql", ModelPerformanceTable.DefaultName, table);
        (exitCode, _, error) = await TrainBatcherCommand.RunCodecAsync(train);
        Assert.True(exitCode == 0, error);
        Assert.Contains(await ReadRowsAsync(table), r => r.ModelName == ModelPerformanceReport.CountCodecModel && r.BytesPerEvent > 0);
    }

    [Fact]
    public async Task Training_a_codec_without_a_clickhouse_url_reaches_no_server_and_an_unreachable_one_fails_before_training()
    {
        using var output = new TemporaryDirectory("train-codec-test-");
        var events = await WriteTrainingEventsAsync(output.Path);
        var model = Path.Combine(output.Path, "model");

        var (exitCode, _, error) = await TrainBatcherCommand.RunCodecAsync("--input", events, "--out", model, "--clickhouse-url", "http://127.0.0.1:1/");

        Assert.Equal(1, exitCode);
        Assert.StartsWith("ClickHouse at http://127.0.0.1:1/", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(model, CodecArtifact.MetadataFile)));
        (exitCode, var stdout, error) = await TrainBatcherCommand.RunCodecAsync("--input", events, "--out", model);
        Assert.True(exitCode == 0, error);
        Assert.DoesNotContain("performance rows", stdout, StringComparison.Ordinal);
    }

    /// <summary>The fewest events a count model trains on in about a second that still give the shifted events something to lose.</summary>
    private static async Task<string> WriteTrainingEventsAsync(string directory)
    {
        var path = Path.Combine(directory, "events.jsonl");
        await File.WriteAllLinesAsync(path,
            GeneratedEvents.Decoded(3_000, seed: 11, EventDistribution.Training).Select(e => System.Text.Encoding.UTF8.GetString(EventJsonWriter.Write(e))));
        return path;
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
