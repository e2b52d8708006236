namespace EventPipeline.Host.DevInfra;

/// <summary>Settings of a <see cref="LocalClickHouseServer"/>; every value has a working default.</summary>
public sealed record LocalClickHouseOptions
{
    /// <summary>Password of the <see cref="LocalClickHouseServer.WriterUser"/> account.</summary>
    public string WriterPassword
    {
        get;
        init
        {
            ArgumentException.ThrowIfNullOrEmpty(value, nameof(WriterPassword));
            field = value;
        }
    } = "pipeline-writer-secret";

    /// <summary>
    /// The clickhouse-server binary; when null, the CLICKHOUSE_SERVER_BIN environment variable, then
    /// /usr/sbin/clickhouse-server (Debian's package).
    /// </summary>
    public string? ServerBinary { get; init; }

    /// <summary>How long a start may take before the server is killed and the start fails.</summary>
    public TimeSpan StartupTimeout
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero, nameof(StartupTimeout));
            field = value;
        }
    } = TimeSpan.FromSeconds(60);
}
