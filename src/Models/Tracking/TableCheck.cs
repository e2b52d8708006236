using EventPipeline.Stages.ClickHouse;

namespace EventPipeline.Models.Tracking;

/// <summary>A ClickHouse table a model command reads or writes is missing or lacks columns; the message says how to fix it.</summary>
public sealed class ModelTrackingException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Columns added to a deployed table after it was first created, and the file of statements that adds them.</summary>
public sealed record TableUpgrade(string File, IReadOnlyCollection<string> Columns);

/// <summary>Checks the tables the model commands use before they spend minutes training.</summary>
internal static class TableCheck
{
    /// <summary>ClickHouse's UNKNOWN_TABLE error code.</summary>
    private const int UnknownTable = 60;

    /// <summary>
    /// DESCRIBE the table; a missing table or column becomes a <see cref="ModelTrackingException"/> naming the DDL that
    /// creates it, or, when every missing column came with a later version, the <paramref name="upgrades"/> that add them:
    /// an operator with a table of the older version needs the upgrade, not the DDL (which skips an existing table).
    /// </summary>
    public static async Task RequireColumnsAsync(IClickHouseQuery client, string table, IEnumerable<string> columns, string ddlFile,
        IReadOnlyList<TableUpgrade> upgrades, CancellationToken cancellationToken)
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
        if (missing.Count == 0)
            return;
        var fix = missing.All(column => upgrades.Any(u => u.Columns.Contains(column)))
            ? $"the table predates them: add them with {string.Join(", then ", upgrades.Where(u => u.Columns.Any(missing.Contains)).Select(u => u.File))}"
            : $"see {ddlFile}";
        throw new ModelTrackingException($"table {client.Database}.{table} lacks the column(s) {string.Join(", ", missing)}: {fix}");
    }
}
