namespace EventPipeline.Stages.ClickHouse;

/// <summary>
/// The calls code outside the worker's stages makes to ClickHouse (the model tracking tables in Models): a port, so
/// that it depends on what it asks of ClickHouse rather than on <see cref="ClickHouseHttpClient"/>, which implements
/// it. Server errors come as <see cref="ClickHouseServerException"/>.
/// </summary>
public interface IClickHouseQuery
{
    /// <summary>The database unqualified table names refer to.</summary>
    string Database { get; }

    /// <summary>Runs a query and returns the response body (use a FORMAT clause for machine-readable output).</summary>
    Task<string> QueryAsync(string sql, CancellationToken cancellationToken);

    Task<TableSchema> DescribeTableAsync(string table, CancellationToken cancellationToken);

    /// <summary>Sends an INSERT whose data is the request body.</summary>
    Task InsertAsync(string insertQuery, HttpContent body, CancellationToken cancellationToken, string? queryId = null);
}
