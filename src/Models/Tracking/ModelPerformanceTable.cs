using System.Text;
using System.Text.Json;
using EventPipeline.Stages.ClickHouse;

namespace EventPipeline.Models.Tracking;

/// <summary>The ml_model_performance table (deploy/clickhouse/ml_model_performance.sql), written over ClickHouse's HTTP interface.</summary>
public sealed class ModelPerformanceTable(IClickHouseQuery client, string table)
{
    public const string DefaultName = "ml_model_performance";
    public const string DdlFile = "deploy/clickhouse/ml_model_performance.sql";

    /// <summary>The codec's columns, which tables deployed before them lack.</summary>
    public static readonly TableUpgrade CodecColumns = new("deploy/clickhouse/ml_model_performance-upgrade-1.sql",
        ["bytes_per_event", "mismatches", "corrections_per_event"]);

    public string Name => $"{client.Database}.{table}";

    /// <summary>Checks that the table exists with every column the rows carry, so a training run fails before it spends its time.</summary>
    public Task CheckAsync(CancellationToken cancellationToken) =>
        TableCheck.RequireColumnsAsync(client, table, ModelPerformanceRow.Columns, DdlFile, [CodecColumns], cancellationToken);

    public async Task WriteAsync(IReadOnlyCollection<ModelPerformanceRow> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
            return;
        var body = string.Join('\n', rows.Select(row => JsonSerializer.Serialize(row, ModelPerformanceRow.Json)));
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        await client.InsertAsync($"INSERT INTO {ClickHouseIdentifier.Quote(table)} FORMAT JSONEachRow", content, cancellationToken).ConfigureAwait(false);
    }
}
