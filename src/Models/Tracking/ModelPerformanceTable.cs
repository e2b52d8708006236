using System.Text;
using System.Text.Json;
using EventPipeline.Stages.ClickHouse;

namespace EventPipeline.Models.Tracking;

/// <summary>A ClickHouse table a model command reads or writes is missing or lacks columns; the message says how to fix it.</summary>
public sealed class ModelTrackingException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The ml_model_performance table (deploy/clickhouse/ml_model_performance.sql), written over ClickHouse's HTTP interface.</summary>
public sealed class ModelPerformanceTable(ClickHouseHttpClient client, string table)
{
    public const string DefaultName = "ml_model_performance";
    public const string DdlFile = "deploy/clickhouse/ml_model_performance.sql";

    /// <summary>Checks that the table exists with every column the rows carry, so a training run fails before it spends its time.</summary>
    public Task CheckAsync(CancellationToken cancellationToken) =>
        CheckColumnsAsync(client, table, ModelPerformanceRow.Columns, DdlFile, cancellationToken);

    public async Task WriteAsync(IReadOnlyCollection<ModelPerformanceRow> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
            return;
        var body = string.Join('\n', rows.Select(row => JsonSerializer.Serialize(row, ModelPerformanceRow.Json)));
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        await client.InsertAsync($"INSERT INTO {ClickHouseIdentifier.Quote(table)} FORMAT JSONEachRow", content, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>DESCRIBE the table; a missing table or column becomes a <see cref="ModelTrackingException"/> naming the DDL that creates it.</summary>
    internal static async Task CheckColumnsAsync(ClickHouseHttpClient client, string table, IEnumerable<string> columns,
        string ddlFile, CancellationToken cancellationToken)
    {
        TableSchema schema;
        try
        {
            schema = await client.DescribeTableAsync(table, cancellationToken).ConfigureAwait(false);
        }
        catch (ClickHouseServerException e) when (e.Code == UnknownTable)
        {
            throw new ModelTrackingException($"table {client.Database}.{table} does not exist: create it with {ddlFile}", e);
        }
        var missing = columns.Except(schema.Columns.Select(c => c.Name), StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
            throw new ModelTrackingException($"table {client.Database}.{table} lacks the column(s) {string.Join(", ", missing)}: see {ddlFile}");
    }

    /// <summary>ClickHouse's UNKNOWN_TABLE error code.</summary>
    private const int UnknownTable = 60;
}
