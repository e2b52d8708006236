using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace EventPipeline.Models.Tracking;

/// <summary>
/// One row of ml_model_performance (deploy/clickhouse/ml_model_performance.sql); the property names, in snake case,
/// are the column names. A metric that does not apply to the row is null (NULL in the table), never 0, so an
/// average over a column never mixes in rows that did not measure it.
/// </summary>
public sealed record ModelPerformanceRow
{
    [JsonConverter(typeof(ClickHouseDateTimeConverter))]
    public required DateTime Timestamp { get; init; }

    public required string ModelName { get; init; }
    public required string ModelVersion { get; init; }

    /// <summary>simulator, calibration, telemetry, or a codec's held-out or shifted events: where the numbers come from.</summary>
    public required string Evaluation { get; init; }

    public string Profile { get; init; } = "";
    public string Policy { get; init; } = "";
    public double? PredictionAccuracy { get; init; }
    public double? Mae { get; init; }
    public double? Rmse { get; init; }
    public double? R2 { get; init; }
    public double? ThroughputRowsPerSecond { get; init; }
    public double? P50Seconds { get; init; }
    public double? P95Seconds { get; init; }
    public double? P99Seconds { get; init; }
    public double? InsertsPerSecond { get; init; }
    public double? Reward { get; init; }
    public long TrainingSamples { get; init; }
    public double? InferenceTimeMs { get; init; }

    // The codec's columns, added after the table was first deployed (deploy/clickhouse/ml_model_performance-upgrade-1.sql).
    public double? BytesPerEvent { get; init; }
    public long? Mismatches { get; init; }
    public double? CorrectionsPerEvent { get; init; }

    /// <summary>One line of JSONEachRow.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(), // lets Columns read the property names from the contract
    };

    /// <summary>The column names the rows are written to, in order.</summary>
    public static IReadOnlyList<string> Columns { get; } =
        [.. Json.GetTypeInfo(typeof(ModelPerformanceRow)).Properties.Select(p => p.Name)];

    /// <summary>
    /// A finite number, or null for NaN and infinities: JSON cannot carry them (the serializer would fail the whole
    /// insert), and a metric that is not a number is unknown.
    /// </summary>
    public static double? Finite(double value) => double.IsFinite(value) ? value : null;

    /// <summary>ClickHouse reads DateTime from "yyyy-MM-dd HH:mm:ss" in JSONEachRow (18.16 does not parse ISO 8601 there).</summary>
    private sealed class ClickHouseDateTimeConverter : JsonConverter<DateTime>
    {
        public override DateTime Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            DateTime.ParseExact(reader.GetString()!, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

        public override void Write(Utf8JsonWriter writer, DateTime value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
    }
}
