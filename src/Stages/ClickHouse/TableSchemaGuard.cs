namespace EventPipeline.Stages.ClickHouse;

/// <summary>
/// Keeps the sink from sending bytes the server would read under other types. RowBinary carries no types: after
/// <c>ALTER TABLE ... MODIFY COLUMN revenue Decimal(18, 4)</c> the eight bytes of a Float64 4.99 are read, without an
/// error, as 461730425896253.2598. So the table's columns are read again around every insert and compared with the
/// ones the insert was planned for.
/// </summary>
public sealed class TableSchemaGuard(ClickHouseHttpClient client, string table, TableMapping planned)
{
    /// <summary>The mapping inserts are encoded with.</summary>
    public TableMapping Planned { get; } = planned;

    /// <summary>Throws <see cref="TableSchemaChangedException"/> when an insert planned now would differ from <see cref="Planned"/>.</summary>
    /// <exception cref="ClickHouseServerException">The table could not be described (dropped: code 60).</exception>
    public async Task EnsureUnchangedAsync(CancellationToken cancellationToken)
    {
        var differences = await DifferencesAsync(cancellationToken).ConfigureAwait(false);
        if (differences.Count > 0)
            throw new TableSchemaChangedException(table, differences);
    }

    /// <summary>How an insert planned now would differ from <see cref="Planned"/>; empty when it would not.</summary>
    public async Task<IReadOnlyList<string>> DifferencesAsync(CancellationToken cancellationToken)
    {
        var schema = await client.DescribeTableAsync(table, cancellationToken).ConfigureAwait(false);
        try
        {
            return Planned.DifferencesTo(TableMapping.Create(schema));
        }
        catch (Exception ex) when (ex is NotSupportedException or FormatException or ArgumentException)
        {
            return [ex.Message];
        }
    }
}

/// <summary>The target table's columns changed since the insert plan was made; nothing was inserted with the stale plan.</summary>
public sealed class TableSchemaChangedException(string table, IReadOnlyList<string> differences)
    : Exception($"Table {table} changed since its insert plan was made: {string.Join("; ", differences)}")
{
    public IReadOnlyList<string> Differences { get; } = differences;
}
