using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EventPipeline.DevTools.LocalServers;

/// <summary>
/// A private standalone ZooKeeper (Debian's <c>zookeeper</c> package, 3.8) run as a plain java child process on a
/// free port of 127.0.0.1, with its zoo.cfg, data and log in one state folder. It exists so that a
/// <see cref="LocalClickHouseServer"/> can run ReplicatedMergeTree tables, whose insert deduplication needs it.
/// </summary>
/// <remarks>
/// The package's zkServer.sh reads /etc/zookeeper and wants to daemonize; running
/// <c>org.apache.zookeeper.server.ZooKeeperServerMain</c> directly keeps one process, which <see cref="Kill"/>
/// and <see cref="DisposeAsync"/> end for sure. The admin HTTP server is off and only the <c>ruok</c> four-letter
/// word is allowed: readiness is "ruok" answered by "imok". Not thread-safe.
/// </remarks>
public sealed class LocalZooKeeper : IAsyncDisposable
{
    private const string JavaBinary = "/usr/bin/java";

    // Its manifest's Class-Path names every other jar it needs under /usr/share/java.
    private const string ZooKeeperJar = "/usr/share/java/zookeeper.jar";

    // Without an SLF4J binding ZooKeeper logs nothing, not even why it failed to start; this one (same package
    // dependency, libslf4j-java) writes to stderr, which goes to log/zookeeper.log.
    private const string Slf4jSimpleJar = "/usr/share/java/slf4j-simple.jar";
    private const string MainClass = "org.apache.zookeeper.server.ZooKeeperServerMain";
    private const int MaxStartAttempts = 5;
    private const int LogTailChars = 4000;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(10);

    private LoggedChildProcess? _child;
    private bool _disposed;

    private LocalZooKeeper(string stateDirectory) => StateDirectory = stateDirectory;

    /// <summary>Whether Debian's zookeeper package and a java runtime are installed.</summary>
    public static bool IsInstalled => File.Exists(JavaBinary) && File.Exists(ZooKeeperJar);

    public string StateDirectory { get; }

    public int ClientPort { get; private set; }

    /// <summary>The client address, <c>127.0.0.1:port</c>, as <see cref="LocalClickHouseOptions.ZooKeeper"/> takes it.</summary>
    public string Connect => $"127.0.0.1:{ClientPort.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>How long <see cref="StartAsync"/> took until ZooKeeper answered (JVM start included).</summary>
    public TimeSpan StartupTime { get; private set; }

    private string ConfigPath => Path.Combine(StateDirectory, "zoo.cfg");

    private string PidPath => Path.Combine(StateDirectory, "zookeeper.pid");

    private string LogPath => Path.Combine(StateDirectory, "log", "zookeeper.log");

    /// <summary>Starts ZooKeeper on a free port and returns once it answers <c>ruok</c>.</summary>
    /// <param name="stateDirectory">Created if missing; data left there by an earlier run is kept.</param>
    public static async Task<LocalZooKeeper> StartAsync(string stateDirectory, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(stateDirectory);
        if (!IsInstalled)
        {
            throw new FileNotFoundException($"ZooKeeper needs {JavaBinary} and {ZooKeeperJar}: install Debian's zookeeper package (scripts/ensure-deps.sh).");
        }

        var zooKeeper = new LocalZooKeeper(Path.GetFullPath(stateDirectory));
        try
        {
            await zooKeeper.StartOnFreePortAsync(ct).ConfigureAwait(false);
            return zooKeeper;
        }
        catch
        {
            await zooKeeper.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Kills ZooKeeper at once (SIGKILL).</summary>
    public void Kill()
    {
        if (_child is { HasExited: false } child)
        {
            child.Process.Kill(entireProcessTree: true);
        }

        ReleaseProcess();
    }

    /// <summary>Asks ZooKeeper to stop (SIGTERM: the JVM runs its shutdown hooks) and waits; SIGKILL after 10 s.</summary>
    public async Task StopAsync()
    {
        if (_child is not { } child)
        {
            return;
        }

        await child.TerminateAsync(ShutdownTimeout, entireProcessTree: true).ConfigureAwait(false);
        ReleaseProcess();
    }

    /// <summary>Stops ZooKeeper; the state folder stays for the caller to keep or delete.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await StopAsync().ConfigureAwait(false);
    }

    private async Task StartOnFreePortAsync(CancellationToken ct)
    {
        Directory.CreateDirectory(Path.Combine(StateDirectory, "data"));
        Directory.CreateDirectory(Path.Combine(StateDirectory, "log"));
        KillLeftover();
        var started = Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            ClientPort = PickFreePort();
            WriteConfig();
            var failure = await LaunchAsync(ct).ConfigureAwait(false);
            if (failure is null)
            {
                StartupTime = started.Elapsed;
                return;
            }

            // Another process can take the port between our probe and ZooKeeper's bind; it then exits at once.
            if (attempt == MaxStartAttempts || !failure.Contains("Address already in use", StringComparison.Ordinal))
            {
                throw new InvalidOperationException(failure);
            }
        }
    }

    private void WriteConfig()
    {
        var config = new StringBuilder()
            // A short tick allows short sessions (minSessionTimeout = 2 ticks): a ClickHouse server that was
            // killed and restarted waits until its old session expires before its replicated tables accept writes.
            .AppendLine("tickTime=500")
            .AppendLine(CultureInfo.InvariantCulture, $"dataDir={Path.Combine(StateDirectory, "data")}")
            .AppendLine(CultureInfo.InvariantCulture, $"clientPort={ClientPort}")
            .AppendLine("clientPortAddress=127.0.0.1")
            .AppendLine("admin.enableServer=false")
            .AppendLine("4lw.commands.whitelist=ruok")
            // A dev store lives as long as the machine: skipping fsync loses data only if the machine crashes,
            // never when ZooKeeper or ClickHouse is killed, and it keeps inserts fast on slow disks.
            .AppendLine("forceSync=no")
            .AppendLine("autopurge.snapRetainCount=3")
            .AppendLine("autopurge.purgeInterval=1");
        File.WriteAllText(ConfigPath, config.ToString());
    }

    /// <returns>Null once ZooKeeper answers; otherwise why it exited first.</returns>
    private async Task<string?> LaunchAsync(CancellationToken ct)
    {
        var logStart = File.Exists(LogPath) ? new FileInfo(LogPath).Length : 0;
        var child = StartProcess();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(StartupTimeout);
        try
        {
            while (!await AnswersRuokAsync(deadline.Token).ConfigureAwait(false))
            {
                if (child.HasExited)
                {
                    var exitCode = child.Process.ExitCode;
                    ReleaseProcess();
                    return $"ZooKeeper exited with code {exitCode} while starting. {LogTail(logStart)}";
                }

                await Task.Delay(PollInterval, deadline.Token).ConfigureAwait(false);
            }

            return null;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            Kill();
            throw new TimeoutException($"ZooKeeper did not answer within {StartupTimeout.TotalSeconds} s. {LogTail(logStart)}");
        }
        catch
        {
            Kill();
            throw;
        }
    }

    private LoggedChildProcess StartProcess()
    {
        var startInfo = new ProcessStartInfo(JavaBinary)
        {
            WorkingDirectory = StateDirectory,
        };
        foreach (var argument in new[]
        {
            // A small heap and the serial collector: a test ZooKeeper holds a few hundred znodes, and the
            // machine has 2 cores that builds and ClickHouse need more.
            "-Xms16m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "-Dzookeeper.jmx.log4j.disable=true",
            "-cp", File.Exists(Slf4jSimpleJar) ? $"{ZooKeeperJar}:{Slf4jSimpleJar}" : ZooKeeperJar,
            MainClass, ConfigPath,
        })
        {
            startInfo.ArgumentList.Add(argument);
        }

        _child = LoggedChildProcess.Start(startInfo, LogPath, PidPath);
        return _child;
    }

    private async Task<bool> AnswersRuokAsync(CancellationToken ct)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, ClientPort, ct).ConfigureAwait(false);
            var stream = client.GetStream();
            await stream.WriteAsync("ruok"u8.ToArray(), ct).ConfigureAwait(false);
            var answer = new byte[4];
            var read = 0;
            while (read < answer.Length)
            {
                var n = await stream.ReadAsync(answer.AsMemory(read), ct).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                read += n;
            }

            return read == 4 && "imok"u8.SequenceEqual(answer);
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private void ReleaseProcess()
    {
        _child?.Release();
        _child = null;
    }

    /// <summary>
    /// A run that crashed leaves its ZooKeeper behind, holding the data folder; the pid file finds it. The pid may
    /// since belong to another process, so it must name this folder's zoo.cfg on its command line.
    /// </summary>
    private void KillLeftover()
    {
        if (!File.Exists(PidPath))
        {
            return;
        }

        if (int.TryParse(File.ReadAllText(PidPath).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid)
            && IsZooKeeperOfThisFolder(pid))
        {
            using var leftover = Process.GetProcessById(pid);
            leftover.Kill(entireProcessTree: true);
            leftover.WaitForExit(ShutdownTimeout);
        }

        File.Delete(PidPath);
    }

    private bool IsZooKeeperOfThisFolder(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0').Contains(ConfigPath);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static int PickFreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private string LogTail(long start)
    {
        _child?.FlushLog();

        if (!File.Exists(LogPath))
        {
            return $"It wrote no log ({LogPath}).";
        }

        using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(Math.Max(start, stream.Length - LogTailChars), SeekOrigin.Begin);
        using var reader = new StreamReader(stream);
        return $"End of {LogPath}:{Environment.NewLine}{reader.ReadToEnd()}";
    }
}
