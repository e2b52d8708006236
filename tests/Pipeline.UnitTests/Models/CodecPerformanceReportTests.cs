using EventPipeline.DevTools.Events;
using EventPipeline.Models.Codec;
using EventPipeline.Models.Tracking;

namespace EventPipeline.Tests.Models;

/// <summary>How a trained codec's measurements become ml_model_performance rows.</summary>
public sealed class CodecPerformanceReportTests
{
    private static readonly DateTime Now = new(2026, 12, 2, 12, 0, 0, DateTimeKind.Utc);

    private static CodecMetadata Metadata(string kind) => new()
    {
        Kind = kind, ModelId = 77, Version = "codec-count-77-0123abcd", TrainingEvents = 900,
        Vocabularies = EventFeaturizer.Learn(GeneratedEvents.Decoded(20, seed: 1, EventDistribution.Training)),
    };

    [Fact]
    public void A_count_model_gets_an_envelope_row_per_dataset_and_a_row_per_coded_quantity_in_bytes()
    {
        CodecDatasetEvaluation[] datasets =
        [
            new("held-out", new CodecRoundTripResult(100, 40.5, 0, null, 120_000), new Dictionary<string, double> { ["AppId"] = 8, ["Verbatim"] = 160 }),
            new("shifted", new CodecRoundTripResult(100, 80.25, 0, null, 90_000), new Dictionary<string, double>()),
        ];

        var rows = ModelPerformanceReport.ForCodec(Metadata(CodecMetadata.CountKind), datasets, Now).ToList();

        Assert.Equal(["held-out/envelope", "held-out/field:AppId", "held-out/field:Verbatim", "shifted/envelope"], rows.Select(r => $"{r.Evaluation}/{r.Policy}"));
        Assert.All(rows, r =>
        {
            Assert.Equal(ModelPerformanceReport.CountCodecModel, r.ModelName);
            Assert.Equal("codec-count-77-0123abcd", r.ModelVersion);
            Assert.Equal(Now, r.Timestamp);
            Assert.Equal(900, r.TrainingSamples);
            Assert.Null(r.CorrectionsPerEvent); // only the autoencoder corrects
            Assert.Null(r.Reward);
            Assert.Null(r.InferenceTimeMs);
        });
        Assert.Equal(40.5, rows[0].BytesPerEvent);
        Assert.Equal(0, rows[0].Mismatches);
        Assert.Equal(120_000, rows[0].ThroughputRowsPerSecond);
        Assert.Equal(1, rows[1].BytesPerEvent);
        Assert.Equal(20, rows[2].BytesPerEvent);
        // A quantity's row is a share of its envelope, not a round trip of its own.
        Assert.All(rows.Where(r => r.Policy != ModelPerformanceReport.EnvelopePolicy), r =>
        {
            Assert.Null(r.Mismatches);
            Assert.Null(r.ThroughputRowsPerSecond);
        });
        Assert.Equal(80.25, rows[3].BytesPerEvent);
    }

    [Fact]
    public void An_autoencoder_row_carries_its_corrections_and_a_measurement_that_is_not_a_number_is_null()
    {
        var rows = ModelPerformanceReport.ForCodec(Metadata(CodecMetadata.AutoencoderKind),
            [new CodecDatasetEvaluation("held-out", new CodecRoundTripResult(10, 52, 1, 0.75, double.PositiveInfinity), new Dictionary<string, double>())], Now).ToList();

        var row = Assert.Single(rows);
        Assert.Equal(ModelPerformanceReport.AutoencoderCodecModel, row.ModelName);
        Assert.Equal(0.75, row.CorrectionsPerEvent);
        Assert.Equal(1, row.Mismatches);
        Assert.Null(row.ThroughputRowsPerSecond);
    }

    [Fact]
    public void The_upgrade_adds_exactly_the_columns_the_rows_carry_beyond_the_first_table()
    {
        Assert.Equal(ModelPerformanceTable.CodecColumns.Columns, ModelPerformanceRow.Columns.TakeLast(ModelPerformanceTable.CodecColumns.Columns.Count));
    }
}
