using System.Text.Json.Serialization;

namespace EventPipeline.Stages;

/// <summary>
/// Percentiles of produce->acknowledged latency over a window, in milliseconds (null when no row was acknowledged in
/// it): what GET /latency returns and what the latency benchmark reads.
/// </summary>
/// <param name="Seconds">How long the window lasted.</param>
/// <param name="Interval">True: since the previous interval snapshot; false: since the worker started.</param>
/// <param name="SignificantDigits">Each percentile is within 10^-digits of the true value (2: 1%); min and max are exact.</param>
public sealed record EndToEndLatencySnapshot(
    [property: JsonPropertyName("count")] long Count,
    [property: JsonPropertyName("min_ms")] long? MinMs,
    [property: JsonPropertyName("p50_ms")] long? P50Ms,
    [property: JsonPropertyName("p90_ms")] long? P90Ms,
    [property: JsonPropertyName("p95_ms")] long? P95Ms,
    [property: JsonPropertyName("p99_ms")] long? P99Ms,
    [property: JsonPropertyName("p99_9_ms")] long? P999Ms,
    [property: JsonPropertyName("max_ms")] long? MaxMs,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("interval")] bool Interval,
    [property: JsonPropertyName("significant_digits")] int SignificantDigits)
{
    /// <summary>Relative resolution of the percentiles, for readers of the JSON.</summary>
    [JsonPropertyName("resolution")]
    public string Resolution => $"percentiles within {100 / Math.Pow(10, SignificantDigits):0.##}% (HDR histogram, {SignificantDigits} significant digits); min and max exact; 1 ms unit (Kafka timestamps)";
}
