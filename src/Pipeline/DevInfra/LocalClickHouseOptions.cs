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

    /// <summary>
    /// Extra elements for the server's config.xml, as XML text appended inside its root element, such as
    /// <c>&lt;kafka&gt;&lt;auto_offset_reset&gt;smallest&lt;/auto_offset_reset&gt;&lt;/kafka&gt;</c> for the Kafka table
    /// engine. Checked when set: it must be well-formed XML elements.
    /// </summary>
    public string? ExtraConfigXml
    {
        get;
        init
        {
            if (value is not null)
            {
                _ = LocalClickHouseLayout.ParseExtraConfig(value);
            }

            field = value;
        }
    }

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
