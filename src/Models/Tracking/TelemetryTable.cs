using System.Globalization;
using System.Text.RegularExpressions;
using EventPipeline.Models.Batching;
using EventPipeline.Stages.ClickHouse;

namespace EventPipeline.Models.Tracking;

/// <summary>
/// The per-insert telemetry table the worker writes (Telemetry:Table, deploy/clickhouse/telemetry.sql), read back
/// to refit the insert cost model from production inserts.
/// </summary>
public sealed partial class TelemetryTable(IClickHouseQuery client, string table)
{
    public const string DefaultName = "pipeline_telemetry";
    public const string DdlFile = "deploy/clickhouse/telemetry.sql";

    /// <summary>The newest inserts read at most: about 14 hours of one insert a second, plenty for a 4-term least-squares fit.</summary>
    public const int MaxInserts = 50_000;

    private static readonly string[] ReadColumns = ["time", "rows", "bytes", "insert_seconds", "succeeded"];

    public string Name => $"{client.Database}.{table}";

    public Task CheckAsync(CancellationToken cancellationToken) =>
        TableCheck.RequireColumnsAsync(client, table, ReadColumns, DdlFile, [], cancellationToken);

    /// <summary>
    /// The successful inserts since <paramref name="sinceUtc"/>, newest first. Failed attempts are left out: their
    /// time is a timeout or an error, not what inserting the rows cost.
    /// </summary>
    public async Task<List<TelemetryInsert>> ReadSuccessfulInsertsAsync(DateTime sinceUtc, CancellationToken cancellationToken)
    {
        // The worker writes `time` as UTC wall-clock text, so the bound is compared as UTC wall-clock text too.
        var since = sinceUtc.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        var tsv = await client.QueryAsync(
            $"SELECT rows, bytes, insert_seconds FROM {ClickHouseIdentifier.Quote(table)} " +
            $"WHERE succeeded = 1 AND rows > 0 AND insert_seconds > 0 AND time >= toDateTime('{since}') " +
            $"ORDER BY time DESC LIMIT {MaxInserts} FORMAT TabSeparated", cancellationToken).ConfigureAwait(false);
        var inserts = new List<TelemetryInsert>();
        foreach (var line in tsv.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split('\t');
            // An infinite insert time ("inf") is not a cost either: such a line does not parse and is skipped.
            if (fields.Length == 3 && double.TryParse(fields[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && double.IsFinite(seconds))
                inserts.Add(new TelemetryInsert(int.Parse(fields[0], CultureInfo.InvariantCulture), long.Parse(fields[1], CultureInfo.InvariantCulture), seconds));
        }
        return inserts;
    }

    /// <summary>
    /// --since: a span back from <paramref name="utcNow"/> (30m, 24h, 7d) or a UTC time ("2026-01-31", "2026-01-31 12:00:00",
    /// ISO 8601 with an offset).
    /// </summary>
    /// <exception cref="FormatException">Neither.</exception>
    public static DateTime ParseSince(string text, DateTime utcNow)
    {
        var span = Span().Match(text.Trim());
        if (span.Success)
        {
            var amount = int.Parse(span.Groups[1].Value, CultureInfo.InvariantCulture);
            return utcNow - span.Groups[2].Value switch
            {
                "s" => TimeSpan.FromSeconds(amount),
                "m" => TimeSpan.FromMinutes(amount),
                "h" => TimeSpan.FromHours(amount),
                _ => TimeSpan.FromDays(amount),
            };
        }
        if (DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
            return time;
        throw new FormatException($"'{text}' is neither a span back from now (30m, 24h, 7d) nor a UTC time (2026-01-31 12:00:00)");
    }

    [GeneratedRegex("^([0-9]+)([smhd])$")]
    private static partial Regex Span();
}
