using System.Globalization;
using System.Xml.Linq;

namespace EventPipeline.DevTools.LocalServers;

/// <summary>
/// The files of a <see cref="LocalClickHouseServer"/> inside its state folder: the configuration that points the
/// server at them, and the pid file that finds a server an earlier run left behind.
/// </summary>
/// <remarks>
/// The configuration is written from scratch rather than copied from /etc/clickhouse-server, so it does not
/// depend on what a package or an administrator left there.
/// </remarks>
internal sealed class LocalClickHouseLayout(string stateDirectory)
{
    private static readonly string[] DataFolders = ["data", "tmp", "user_files", "format_schemas", "log"];
    private static readonly TimeSpan KillTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    public string StateDirectory { get; } = stateDirectory;

    public string ConfigPath => Path.Combine(StateDirectory, "config.xml");

    public string UsersPath => Path.Combine(StateDirectory, "users.xml");

    public string PidPath => Path.Combine(StateDirectory, "server.pid");

    public string LogDirectory => Path.Combine(StateDirectory, "log");

    public string ErrorLogPath => Path.Combine(LogDirectory, "server.err.log");

    /// <summary>The server's stdout and stderr, where librdkafka in its Kafka engine reports.</summary>
    public string ConsoleLogPath => Path.Combine(LogDirectory, "console.log");

    /// <summary>The argument that names this folder's config; it also identifies this folder's server process.</summary>
    public string ConfigArgument => $"--config-file={ConfigPath}";

    public void CreateFolders()
    {
        foreach (var folder in DataFolders)
        {
            Directory.CreateDirectory(Path.Combine(StateDirectory, folder));
        }
    }

    public void WriteConfig(int httpPort, int tcpPort, int interserverHttpPort, string displayName, LocalClickHouseOptions options)
    {
        new XDocument(new XElement("yandex",
            new XElement("display_name", displayName),
            new XElement("logger",
                new XElement("level", "warning"),
                new XElement("log", Path.Combine(LogDirectory, "server.log")),
                new XElement("errorlog", ErrorLogPath),
                new XElement("size", "100M"),
                new XElement("count", 3),
                new XElement("console", 0)),
            new XElement("listen_host", "127.0.0.1"),
            // Bounds how long a graceful stop waits for idle keep-alive connections (default 10 s).
            new XElement("keep_alive_timeout", 3),
            new XElement("http_port", httpPort),
            new XElement("tcp_port", tcpPort),
            // Replicated tables announce this port in ZooKeeper for other replicas to fetch parts from; 18.16
            // refuses to create one without it.
            new XElement("interserver_http_port", interserverHttpPort),
            new XElement("interserver_http_host", "127.0.0.1"),
            new XElement("path", Folder("data")),
            new XElement("tmp_path", Folder("tmp")),
            new XElement("user_files_path", Folder("user_files")),
            new XElement("format_schema_path", Folder("format_schemas")),
            new XElement("users_config", UsersPath),
            new XElement("default_profile", "default"),
            new XElement("default_database", "default"),
            // 18.16 has no default for it and fails with exit code 70 when it is missing.
            new XElement("mark_cache_size", 256L << 20),
            new XElement("timezone", "UTC"),
            ZooKeeperConfig(options),
            ParseExtraConfig(options.ExtraConfigXml))).Save(ConfigPath);

        new XDocument(new XElement("yandex",
            new XElement("profiles",
                new XElement("default", new XElement("allow_experimental_low_cardinality_type", 1)),
                // What the worker needs and no more: it inserts and reads schemas, it never runs DDL.
                new XElement("writer", new XElement("allow_experimental_low_cardinality_type", 1), new XElement("allow_ddl", 0))),
            new XElement("users",
                LocalUser("default", password: ""),
                LocalUser(LocalClickHouseServer.WriterUser, options.WriterPassword, profile: "writer")),
            new XElement("quotas", new XElement("default")))).Save(UsersPath);
    }

    /// <summary>The <c>&lt;zookeeper&gt;</c> and <c>&lt;macros&gt;</c> sections, or nothing without ZooKeeper.</summary>
    private static IEnumerable<XElement> ZooKeeperConfig(LocalClickHouseOptions options)
    {
        if (options.ZooKeeper is null)
        {
            yield break;
        }

        var (host, port) = LocalClickHouseOptions.ParseZooKeeper(options.ZooKeeper);
        yield return new XElement("zookeeper",
            new XElement("node", new XElement("host", host), new XElement("port", port)),
            new XElement("session_timeout_ms", (long)options.ZooKeeperSessionTimeout.TotalMilliseconds));
        yield return new XElement("macros", options.Macros.Select(macro => new XElement(macro.Key, macro.Value)));
    }

    /// <summary>The top-level elements of <see cref="LocalClickHouseOptions.ExtraConfigXml"/>.</summary>
    /// <exception cref="ArgumentException">The text is not well-formed XML elements.</exception>
    public static IReadOnlyList<XElement> ParseExtraConfig(string? xml)
    {
        if (string.IsNullOrWhiteSpace(xml))
        {
            return [];
        }

        try
        {
            return [.. XElement.Parse($"<extra>{xml}</extra>").Elements()];
        }
        catch (System.Xml.XmlException ex)
        {
            throw new ArgumentException($"ExtraConfigXml is not well-formed XML: {ex.Message}", nameof(LocalClickHouseOptions.ExtraConfigXml), ex);
        }
    }

    /// <summary>
    /// Kills the server that the pid file names if it still runs on this folder: a run that crashed or was
    /// killed leaves its server behind, holding the data folder's lock.
    /// </summary>
    public async Task KillLeftoverServerAsync(CancellationToken ct)
    {
        if (!File.Exists(PidPath))
        {
            return;
        }

        if (int.TryParse(File.ReadAllText(PidPath).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid)
            && IsServerOfThisFolder(pid))
        {
            _ = NativeMethods.kill(pid, NativeMethods.SigKill);
            var deadline = DateTime.UtcNow + KillTimeout;
            while (IsServerOfThisFolder(pid))
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException($"A leftover clickhouse-server (pid {pid}) on {StateDirectory} survived SIGKILL.");
                }

                await Task.Delay(PollInterval, ct).ConfigureAwait(false);
            }
        }

        File.Delete(PidPath);
    }

    // ClickHouse wants its folders with a trailing slash.
    private string Folder(string name) => Path.Combine(StateDirectory, name) + "/";

    /// <summary>The pid file may be stale and its pid reused, so the process must prove it is our server.</summary>
    private bool IsServerOfThisFolder(int pid)
    {
        try
        {
            // Arguments are NUL-separated; a zombie's command line is empty.
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0').Contains(ConfigArgument);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static XElement LocalUser(string name, string password, string profile = "default") =>
        new(name,
            new XElement("password", password),
            new XElement("networks", new XElement("ip", "127.0.0.1"), new XElement("ip", "::1")),
            new XElement("profile", profile),
            new XElement("quota", "default"));
}
