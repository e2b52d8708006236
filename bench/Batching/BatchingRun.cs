using System.Globalization;
using System.Text.Json.Serialization;
using EventPipeline.Stages;

namespace EventPipeline.Bench.Batching;

/// <summary>
/// One second of one run: what was offered, inserted and flushed, the rows still in Kafka or the worker, ClickHouse's
/// active parts of the table, and the exact latency (the worker's /latency?interval=true, HDR within 1%) of the rows
/// acknowledged in that second. With several workers the latencies are the highest of the workers' own.
/// </summary>
internal sealed record SeriesPoint(
    [property: JsonPropertyName("t")] double T,
    [property: JsonPropertyName("offered_per_s")] double OfferedPerSecond,
    [property: JsonPropertyName("inserted_per_s")] double InsertedPerSecond,
    [property: JsonPropertyName("inserts")] double Inserts,
    [property: JsonPropertyName("mean_batch_rows")] double? MeanBatchRows,
    [property: JsonPropertyName("target_size")] double TargetSize,
    [property: JsonPropertyName("backlog_rows")] long BacklogRows,
    [property: JsonPropertyName("active_parts")] long ActiveParts,
    [property: JsonPropertyName("p50_ms")] long? P50Ms,
    [property: JsonPropertyName("p99_ms")] long? P99Ms,
    [property: JsonPropertyName("max_ms")] long? MaxMs);

/// <summary>The per-run numbers a policy is judged on: measured on the real pipeline or predicted by the simulator.</summary>
/// <param name="MaxMs">Exact on the real pipeline; null for the simulator, whose histogram has no exact maximum.</param>
internal sealed record PolicyNumbers(
    [property: JsonPropertyName("events_per_s")] double EventsPerSecond,
    [property: JsonPropertyName("p50_ms")] double P50Ms,
    [property: JsonPropertyName("p95_ms")] double P95Ms,
    [property: JsonPropertyName("p99_ms")] double P99Ms,
    [property: JsonPropertyName("max_ms")] double? MaxMs,
    [property: JsonPropertyName("inserts_per_s")] double InsertsPerSecond,
    [property: JsonPropertyName("inserts")] long Inserts)
{
    /// <summary>Inserts per second of a run, over the load and the drain after it (a drain's flushes are inserts too); NaN for a run that never drained.</summary>
    public static double InsertRate(long inserts, double loadSeconds, double drainSeconds) => Math.Round(inserts / (loadSeconds + Math.Max(0, drainSeconds)), 3);

    public string Row() => string.Create(CultureInfo.InvariantCulture,
        $"{EventsPerSecond,9:N0} {P50Ms,8:F0} {P95Ms,8:F0} {P99Ms,8:F0} {MaxMs,8:F0} {InsertsPerSecond,7:F2}");
}

/// <summary>How a backlog built by an overload drained (saturation profile).</summary>
/// <param name="SecondsToDrain">From the end of the overload until the rows not yet inserted fell to one second of the
/// arrivals after it (null: not within the run).</param>
/// <param name="HighestP99MsWhileDraining">The highest per-second p99 in that span.</param>
internal sealed record BacklogDrain(
    [property: JsonPropertyName("peak_backlog_rows")] long PeakBacklogRows,
    [property: JsonPropertyName("seconds_to_drain")] double? SecondsToDrain,
    [property: JsonPropertyName("highest_p99_ms_while_draining")] long? HighestP99MsWhileDraining);

/// <summary>One run of one policy: everything measured, kept in the JSON whatever the summary makes of it.</summary>
/// <param name="Order">Position of this run within its repetition (a seeded random order per repetition).</param>
/// <param name="WorkerLatency">Each worker's cumulative /latency at the end (a fresh worker per run: exactly this run's rows).</param>
/// <param name="Ok">Every produced row inserted exactly once, no offset reset, every worker ended cleanly.</param>
/// <param name="Inserts">Every insert of the run as the workers' telemetry recorded it (the simulator's calibration trace).</param>
internal sealed record PolicyRun(
    [property: JsonPropertyName("repetition")] int Repetition,
    [property: JsonPropertyName("order")] int Order,
    [property: JsonPropertyName("policy")] string Policy,
    [property: JsonPropertyName("produced")] long Produced,
    [property: JsonPropertyName("inserted_rows")] long InsertedRows,
    [property: JsonPropertyName("drain_seconds")] double DrainSeconds,
    [property: JsonPropertyName("insert_queries_system_events")] long InsertQueries,
    [property: JsonPropertyName("delayed_inserts_system_events")] long DelayedInserts,
    [property: JsonPropertyName("rejected_inserts_system_events")] long RejectedInserts,
    [property: JsonPropertyName("max_active_parts")] long MaxActiveParts,
    [property: JsonPropertyName("backlog")] BacklogDrain? Backlog,
    [property: JsonPropertyName("measured")] PolicyNumbers Measured,
    [property: JsonPropertyName("worker_latency")] IReadOnlyList<EndToEndLatencySnapshot> WorkerLatency,
    [property: JsonPropertyName("ok")] bool Ok,
    [property: JsonPropertyName("series")] IReadOnlyList<SeriesPoint> Series,
    [property: JsonPropertyName("inserts")] IReadOnlyList<RecordedInsert> Inserts);
