namespace EventPipeline.Host.Configuration;

public sealed class ClickHouseSettings
{
    public string Url { get; set; } = "";
    public string Database { get; set; } = "default";
    public string Table { get; set; } = "events";
    public string Username { get; set; } = "default";
    public string Password { get; set; } = "";

    /// <summary>Read the password from this file instead (a mounted Kubernetes secret, say).</summary>
    public string PasswordFile { get; set; } = "";

    /// <summary>none or gzip.</summary>
    public string Compression { get; set; } = "none";

    public int MaxConcurrentInserts { get; set; } = 2;
    public int RequestTimeoutSeconds { get; set; } = 60;

    /// <summary>
    /// ClickHouse settings sent with every INSERT as URL parameters (ClickHouse:Settings:insert_distributed_sync=1
    /// for a Distributed table: see deploy/README.md). Names must match [a-z_]+.
    /// </summary>
    public Dictionary<string, string> Settings { get; set; } = new(StringComparer.Ordinal);
}
