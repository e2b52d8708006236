using System.Globalization;
using System.Text.Json.Serialization;
using EventPipeline.DevTools.LocalServers;

namespace EventPipeline.Bench.Batching;

/// <summary>
/// One insert as the worker's own telemetry recorded it (Telemetry:Table, deploy/clickhouse/telemetry.sql): the recorded
/// trace the simulator is calibrated from, kept in the run's JSON. Every run writes to the bench's telemetry table under
/// its own worker names, so a run's inserts are exactly those of its workers.
/// </summary>
internal sealed record RecordedInsert(
    [property: JsonPropertyName("rows")] int Rows,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("insert_s")] double InsertSeconds,
    [property: JsonPropertyName("ok")] bool Succeeded,
    [property: JsonPropertyName("oldest_row_age_s")] double OldestRowAgeSeconds,
    [property: JsonPropertyName("queue_depth")] int QueueDepth,
    [property: JsonPropertyName("arrival_rate")] double ArrivalRate,
    [property: JsonPropertyName("chosen_size")] int ChosenSize)
{
    public const string Table = "pipeline_telemetry";

    /// <summary>The bench's telemetry table, made from the deployed DDL so that the worker writes what production writes.</summary>
    public static Task CreateTableAsync(LocalClickHouseServer server, string database) =>
        DeployedTables.CreateAsync(server, "telemetry.sql", Table, $"{database}.{Table}");

    /// <summary>Worker-side settings that make <paramref name="worker"/> record its inserts.</summary>
    public static string[] Settings(string worker) => [$"Telemetry:Table={Table}", $"Telemetry:Worker={worker}"];

    /// <summary>
    /// The inserts <paramref name="workers"/> recorded from the whole second after <paramref name="sinceUtc"/> on (the
    /// table keeps seconds: a warm-up insert in the same second must not count), in time order.
    /// </summary>
    public static async Task<List<RecordedInsert>> ReadAsync(LocalClickHouseServer server, string database, IEnumerable<string> workers, DateTime sinceUtc,
        CancellationToken ct)
    {
        var names = string.Join(", ", workers.Select(w => $"'{w.Replace("'", "", StringComparison.Ordinal)}'"));
        var since = new DateTime(sinceUtc.Ticks - sinceUtc.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc).AddSeconds(1)
            .ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        var tsv = await server.QueryAsync(
            "SELECT rows, bytes, insert_seconds, succeeded, oldest_row_age_seconds, queue_depth, arrival_rate, chosen_size " +
            $"FROM {database}.{Table} WHERE worker IN ({names}) AND time >= toDateTime('{since}') ORDER BY time FORMAT TabSeparated", ct);
        return [.. tsv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t')).Select(f => new RecordedInsert(
            int.Parse(f[0], CultureInfo.InvariantCulture), long.Parse(f[1], CultureInfo.InvariantCulture), Number(f[2]), f[3] == "1", Number(f[4]),
            int.Parse(f[5], CultureInfo.InvariantCulture), Number(f[6]), int.Parse(f[7], CultureInfo.InvariantCulture)))];
    }

    private static double Number(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? Math.Round(value, 4) : double.NaN;
}
