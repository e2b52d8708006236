namespace EventPipeline.DevTools.LocalServers;

/// <summary>
/// Tables created from the very DDL files operators run (deploy/clickhouse/*.sql), under another name: a fresh one per
/// test, or the one a bench's workers are told to write to.
/// </summary>
public static class DeployedTables
{
    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Pipeline.sln")))
            directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException($"Pipeline.sln not found above {AppContext.BaseDirectory}");
    }

    /// <summary>Runs deploy/clickhouse/<paramref name="ddlFile"/> with its table renamed; returns the new name.</summary>
    /// <param name="name">The table to create (may be database-qualified); null: a fresh name in the server's default database.</param>
    public static async Task<string> CreateAsync(LocalClickHouseServer server, string ddlFile, string tableInDdl, string? name = null)
    {
        name ??= $"{tableInDdl}_{Guid.NewGuid():N}";
        var ddl = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "deploy", "clickhouse", ddlFile));
        var renamed = ddl.Replace($"IF NOT EXISTS {tableInDdl}", name, StringComparison.Ordinal);
        if (renamed == ddl)
            throw new InvalidOperationException($"{ddlFile} does not create {tableInDdl}");
        await server.QueryAsync(renamed);
        return name;
    }

    /// <summary>Runs deploy/clickhouse/<paramref name="upgradeFile"/> on <paramref name="table"/> instead of the table it names.</summary>
    public static async Task UpgradeAsync(LocalClickHouseServer server, string upgradeFile, string tableInFile, string table)
    {
        var statement = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "deploy", "clickhouse", upgradeFile));
        var renamed = statement.Replace($"ALTER TABLE {tableInFile}", $"ALTER TABLE {table}", StringComparison.Ordinal);
        if (renamed == statement)
            throw new InvalidOperationException($"{upgradeFile} does not alter {tableInFile}");
        await server.QueryAsync(renamed);
    }
}
