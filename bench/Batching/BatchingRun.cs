using System.Globalization;
using System.Text.Json.Serialization;

namespace EventPipeline.Bench.Batching;

/// <summary>One second of one run: what was offered, inserted and flushed, and the latency of rows acknowledged in it.</summary>
internal sealed record SeriesPoint(
    [property: JsonPropertyName("t")] double T,
    [property: JsonPropertyName("offered_per_s")] double OfferedPerSecond,
    [property: JsonPropertyName("inserted_per_s")] double InsertedPerSecond,
    [property: JsonPropertyName("inserts")] double Inserts,
    [property: JsonPropertyName("mean_batch_rows")] double? MeanBatchRows,
    [property: JsonPropertyName("target_size")] double TargetSize,
    [property: JsonPropertyName("p99_ms")] double? P99Ms);

/// <summary>The per-policy numbers the README table shows: measured on the real pipeline or predicted by the simulator.</summary>
internal sealed record PolicyNumbers(
    [property: JsonPropertyName("events_per_s")] double EventsPerSecond,
    [property: JsonPropertyName("p50_ms")] double P50Ms,
    [property: JsonPropertyName("p95_ms")] double P95Ms,
    [property: JsonPropertyName("p99_ms")] double P99Ms,
    [property: JsonPropertyName("inserts_per_s")] double InsertsPerSecond,
    [property: JsonPropertyName("inserts")] long Inserts)
{
    public string Row() => string.Create(CultureInfo.InvariantCulture,
        $"{EventsPerSecond,9:N0} {P50Ms,8:F0} {P95Ms,8:F0} {P99Ms,8:F0} {InsertsPerSecond,7:F2}");
}

internal sealed record MeasuredPolicy(
    [property: JsonPropertyName("policy")] string Policy,
    [property: JsonPropertyName("description")] string Description,
    [property: JsonPropertyName("produced")] long Produced,
    [property: JsonPropertyName("inserted_rows")] long InsertedRows,
    [property: JsonPropertyName("drain_seconds")] double DrainSeconds,
    [property: JsonPropertyName("insert_queries_system_events")] long InsertQueries,
    [property: JsonPropertyName("parts_created_system_events")] long? PartsCreated,
    [property: JsonPropertyName("measured")] PolicyNumbers Measured,
    [property: JsonPropertyName("simulated")] PolicyNumbers Simulated,
    [property: JsonPropertyName("series")] IReadOnlyList<SeriesPoint> Series);
