using System.Globalization;
using EventPipeline.Stages.ClickHouse;

namespace EventPipeline.Host;

/// <summary>DDL and counts for the demo and tools; the worker itself never runs DDL.</summary>
public sealed class ClickHouseAdmin(Uri url, string? username, string? password) : IDisposable
{
    private readonly ClickHouseHttpClient _client = new(url, "default", username, password, TimeSpan.FromMinutes(2));

    public Task<string> ExecuteAsync(string sql, CancellationToken cancellationToken) => _client.QueryAsync(sql, cancellationToken);

    public async Task<long> CountAsync(string qualifiedTable, CancellationToken cancellationToken) =>
        long.Parse((await _client.QueryAsync($"SELECT count() FROM {qualifiedTable} FORMAT TabSeparated", cancellationToken)).Trim(), CultureInfo.InvariantCulture);

    public void Dispose() => _client.Dispose();
}
