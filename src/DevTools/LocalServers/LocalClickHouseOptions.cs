namespace EventPipeline.DevTools.LocalServers;

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

    /// <summary>
    /// ZooKeeper as <c>host:port</c> (<see cref="LocalZooKeeper.Connect"/>), or null for none. When set, config.xml
    /// gets a <c>&lt;zookeeper&gt;</c> section and <see cref="Macros"/>, so that ReplicatedMergeTree tables work,
    /// and with them insert deduplication.
    /// </summary>
    public string? ZooKeeper
    {
        get;
        init
        {
            if (value is not null)
            {
                _ = ParseZooKeeper(value);
            }

            field = value;
        }
    }

    /// <summary>
    /// Written to config.xml's <c>&lt;macros&gt;</c> when <see cref="ZooKeeper"/> is set: ReplicatedMergeTree paths
    /// and replica names use them as <c>{shard}</c> and <c>{replica}</c>. Defaults to shard 01, replica r1.
    /// </summary>
    public IReadOnlyDictionary<string, string> Macros
    {
        get;
        init
        {
            ArgumentNullException.ThrowIfNull(value, nameof(Macros));
            foreach (var name in value.Keys)
            {
                try
                {
                    _ = System.Xml.XmlConvert.VerifyNCName(name);
                }
                catch (System.Xml.XmlException ex)
                {
                    throw new ArgumentException($"Macros: '{name}' is not a valid XML element name.", nameof(Macros), ex);
                }
            }

            field = new Dictionary<string, string>(value);
        }
    } = new Dictionary<string, string> { ["shard"] = "01", ["replica"] = "r1" };

    /// <summary>
    /// The server's ZooKeeper session timeout. After a kill, a restarted server's replicated tables stay read-only
    /// until the old session expires (its replica still looks active), so tests want it short. ZooKeeper bounds it
    /// to 2..20 of its ticks (<see cref="LocalZooKeeper"/> ticks every 0.5 s).
    /// </summary>
    public TimeSpan ZooKeeperSessionTimeout
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero, nameof(ZooKeeperSessionTimeout));
            field = value;
        }
    } = TimeSpan.FromSeconds(3);

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

    /// <summary>Splits <c>host:port</c>.</summary>
    /// <exception cref="ArgumentException">The text is not a host and a port.</exception>
    internal static (string Host, int Port) ParseZooKeeper(string value)
    {
        var colon = value.LastIndexOf(':');
        if (colon <= 0
            || !int.TryParse(value.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
            || port is < 1 or > 65535)
        {
            throw new ArgumentException($"ZooKeeper: '{value}' is not host:port.", nameof(ZooKeeper));
        }

        return (value[..colon], port);
    }
}
