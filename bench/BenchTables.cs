using System.Diagnostics;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.Host;

namespace EventPipeline.Bench;

/// <summary>Fresh events tables (the product's DDL) and row counts for the benches that run the worker as its own process.</summary>
internal static class BenchTables
{
    /// <returns>The new table's name, unqualified.</returns>
    public static async Task<string> CreateAsync(LocalClickHouseServer server, string database, string prefix, CancellationToken ct)
    {
        var table = $"{prefix}_{Guid.NewGuid():N}"[..(prefix.Length + 9)];
        await server.QueryAsync(EventsTable.CreateStatement($"{database}.{table}"), ct);
        return table;
    }

    public static Task DropAsync(LocalClickHouseServer server, string database, string table) =>
        server.QueryAsync($"DROP TABLE IF EXISTS {database}.{table}", CancellationToken.None);

    /// <summary>Polls count() every 100 ms until it reaches <paramref name="rows"/>.</summary>
    /// <param name="produced">Rows the table may hold at most (default <paramref name="rows"/>): more are duplicates.</param>
    /// <exception cref="InvalidOperationException">The worker exited, or the table holds more rows than produced (duplicates).</exception>
    /// <exception cref="TimeoutException">Fewer rows after <paramref name="timeout"/>.</exception>
    public static async Task WaitForRowsAsync(LocalClickHouseServer server, string qualifiedTable, long rows, TimeSpan timeout, BenchWorker worker,
        CancellationToken ct, long? produced = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var count = await server.CountAsync(qualifiedTable, ct);
            if (count > (produced ?? rows))
                throw new InvalidOperationException($"{qualifiedTable} holds {count:N0} rows, more than the {produced ?? rows:N0} produced: duplicates");
            if (count >= rows)
                return;
            worker.ThrowIfExited();
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"{qualifiedTable}: {count:N0} of {rows:N0} rows after {timeout.TotalSeconds} s");
            await Task.Delay(100, ct);
        }
    }
}
