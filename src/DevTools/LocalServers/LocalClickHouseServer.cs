using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace EventPipeline.DevTools.LocalServers;

/// <summary>
/// A private clickhouse-server (Debian's 18.16) run as a child process, listening on free ports of 127.0.0.1
/// only, with its configuration, data and logs in one state folder.
/// </summary>
/// <remarks>
/// The server runs in UTC with <c>allow_experimental_low_cardinality_type=1</c>; users are <c>default</c> (no
/// password) and <see cref="WriterUser"/>. The state folder may be reused: data survives, and a server left
/// running from an earlier run on the same folder is killed first. Not thread-safe, except for queries.
/// </remarks>
public sealed partial class LocalClickHouseServer : IAsyncDisposable
{
    public const string WriterUser = "pipeline_writer";

    private const string DefaultServerBinary = "/usr/sbin/clickhouse-server";
    private const string ServerBinaryVariable = "CLICKHOUSE_SERVER_BIN";
    private const string DisplayNameHeader = "X-ClickHouse-Server-Display-Name";
    private const int MaxStartAttempts = 5;
    private const int ErrorTailBytes = 4000;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(30);

    private readonly LocalClickHouseOptions _options;
    private readonly LocalClickHouseLayout _layout;
    private readonly string _serverBinary;
    private readonly string _displayName = $"pipeline-dev-{Guid.NewGuid():N}";
    private HttpClient _http = new();
    private LoggedChildProcess? _child;
    private bool _disposed;

    private LocalClickHouseServer(string stateDirectory, LocalClickHouseOptions options)
    {
        _layout = new LocalClickHouseLayout(stateDirectory);
        _options = options;
        _serverBinary = ResolveServerBinary(options.ServerBinary);
    }

    /// <summary>Whether the clickhouse-server binary exists (see <see cref="LocalClickHouseOptions.ServerBinary"/>).</summary>
    public static bool IsInstalled => File.Exists(ResolveServerBinary(null));

    public string StateDirectory => _layout.StateDirectory;

    public int HttpPort { get; private set; }

    public int TcpPort { get; private set; }

    public int InterserverHttpPort { get; private set; }

    public Uri HttpUrl => new($"http://127.0.0.1:{HttpPort}/");

    public string WriterPassword => _options.WriterPassword;

    public static async Task<LocalClickHouseServer> StartAsync(
        string stateDirectory, LocalClickHouseOptions? options = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(stateDirectory);
        var server = new LocalClickHouseServer(Path.GetFullPath(stateDirectory), options ?? new LocalClickHouseOptions());
        try
        {
            await server.StartOnFreePortsAsync(ct).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Runs one statement over HTTP as the default user and returns the response body.</summary>
    /// <exception cref="HttpRequestException">The server refused the statement; the message holds its error text.</exception>
    public async Task<string> QueryAsync(string sql, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);
        using var content = new StringContent(sql, Encoding.UTF8, "text/plain");
        return await PostAsync(HttpUrl, content, sql, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Posts an INSERT whose data is <paramref name="body"/>, as the default user. The body is not disposed, so the
    /// same content can be sent again, as a retry would.
    /// </summary>
    /// <exception cref="HttpRequestException">The server refused the insert; the message holds its error text.</exception>
    public async Task<string> InsertAsync(string insertQuery, HttpContent body, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(insertQuery);
        ArgumentNullException.ThrowIfNull(body);
        return await PostAsync(new Uri(HttpUrl, "?query=" + Uri.EscapeDataString(insertQuery)), body, insertQuery, ct).ConfigureAwait(false);
    }

    private async Task<string> PostAsync(Uri url, HttpContent content, string statement, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var response = await _http.PostAsync(url, content, ct).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException(
                $"ClickHouse answered {(int)response.StatusCode} to \"{Abbreviate(statement)}\": {body.Trim()}", null, response.StatusCode);
        }

        return body;
    }

    /// <summary>Counts the rows of a table, named plainly as <c>table</c> or <c>database.table</c>.</summary>
    public async Task<long> CountAsync(string table, CancellationToken ct = default)
    {
        if (!TableName().IsMatch(table))
        {
            throw new ArgumentException($"'{table}' is not a plain [database.]table name.", nameof(table));
        }

        var body = await QueryAsync($"SELECT count() FROM {table}", ct).ConfigureAwait(false);
        return long.Parse(body, NumberStyles.Integer, CultureInfo.InvariantCulture);
    }

    /// <summary>Rows of an events table and distinct event ids among them: their difference is the duplicates.</summary>
    public async Task<(long Rows, long Distinct)> CountRowsAndEventsAsync(string table, CancellationToken ct = default)
    {
        if (!TableName().IsMatch(table))
        {
            throw new ArgumentException($"'{table}' is not a plain [database.]table name.", nameof(table));
        }

        var line = (await QueryAsync($"SELECT count(), uniqExact(event_id) FROM {table} FORMAT TabSeparated", ct).ConfigureAwait(false)).Trim().Split('\t');
        return (long.Parse(line[0], CultureInfo.InvariantCulture), long.Parse(line[1], CultureInfo.InvariantCulture));
    }

    /// <summary>Asks the server to shut down (SIGTERM) and waits for it; SIGKILL if it takes over 30 s.</summary>
    public async Task StopAsync()
    {
        if (_child is not { } child)
        {
            return;
        }

        if (!child.HasExited)
        {
            // The server waits out each open keep-alive connection (keep_alive_timeout) before it exits;
            // replacing the client closes ours.
            _http.Dispose();
            _http = new HttpClient();
            await child.TerminateAsync(ShutdownTimeout).ConfigureAwait(false);
        }

        ReleaseProcess();
    }

    /// <summary>Kills the server at once (SIGKILL), as a crash would; <see cref="StartAgainAsync"/> brings it back.</summary>
    public void Kill()
    {
        _child?.Process.Kill();
        ReleaseProcess();
    }

    /// <summary>Starts a stopped or killed server again on the same ports and data.</summary>
    public async Task StartAgainAsync(CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_child is not null)
        {
            throw new InvalidOperationException("The server is still running: Kill or StopAsync it first.");
        }

        if (await LaunchAsync(ct).ConfigureAwait(false) is { } failure)
        {
            throw new InvalidOperationException(failure);
        }
    }

    /// <summary>Stops the server; the state folder stays for the caller to keep or delete.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await StopAsync().ConfigureAwait(false);
        _http.Dispose();
    }

    // An INSERT may carry megabytes of rows; the error message needs only the statement's start.
    private static string Abbreviate(string sql) => sql.Length <= 200 ? sql : $"{sql[..200]}...";

    private static string ResolveServerBinary(string? configured) =>
        configured ?? Environment.GetEnvironmentVariable(ServerBinaryVariable) ?? DefaultServerBinary;

    private async Task StartOnFreePortsAsync(CancellationToken ct)
    {
        if (!File.Exists(_serverBinary))
        {
            throw new FileNotFoundException(
                $"clickhouse-server is not at {_serverBinary}: install Debian's clickhouse-server or set {ServerBinaryVariable}.",
                _serverBinary);
        }

        _layout.CreateFolders();

        await _layout.KillLeftoverServerAsync(ct).ConfigureAwait(false);
        for (var attempt = 1; ; attempt++)
        {
            (HttpPort, TcpPort, InterserverHttpPort) = PickFreePorts();
            _layout.WriteConfig(HttpPort, TcpPort, InterserverHttpPort, _displayName, _options);
            var failure = await LaunchAsync(ct).ConfigureAwait(false);
            if (failure is null)
            {
                return;
            }

            // Another process can take a port between our probe and the server's bind. The server then exits
            // with code 70, which it uses for every fatal error, so only its log tells this case apart.
            if (attempt == MaxStartAttempts || !failure.Contains("Address already in use", StringComparison.Ordinal))
            {
                throw new InvalidOperationException(failure);
            }
        }
    }

    /// <returns>Null once the server answers; otherwise why it exited first.</returns>
    private async Task<string?> LaunchAsync(CancellationToken ct)
    {
        var errorLogStart = File.Exists(_layout.ErrorLogPath) ? new FileInfo(_layout.ErrorLogPath).Length : 0;
        var child = StartProcess();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(_options.StartupTimeout);
        try
        {
            while (!await PingAsync(deadline.Token).ConfigureAwait(false) || !await IsOursAsync(deadline.Token).ConfigureAwait(false))
            {
                if (child.HasExited)
                {
                    var exitCode = child.Process.ExitCode;
                    ReleaseProcess();
                    return $"clickhouse-server exited with code {exitCode} while starting. {ErrorLogTail(errorLogStart)}";
                }

                await Task.Delay(PollInterval, deadline.Token).ConfigureAwait(false);
            }

            return null;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            Kill();
            throw new TimeoutException(
                $"clickhouse-server did not answer within {_options.StartupTimeout.TotalSeconds} s. {ErrorLogTail(errorLogStart)}");
        }
        catch
        {
            Kill();
            throw;
        }
    }

    private LoggedChildProcess StartProcess()
    {
        var startInfo = new ProcessStartInfo(_serverBinary) { WorkingDirectory = StateDirectory };
        startInfo.ArgumentList.Add(_layout.ConfigArgument);
        // librdkafka inside the server's Kafka engine reports to stderr, never to the server's own log.
        _child = LoggedChildProcess.Start(startInfo, _layout.ConsoleLogPath, _layout.PidPath);
        return _child;
    }

    private void ReleaseProcess()
    {
        _child?.Release();
        _child = null;
    }

    private async Task<bool> PingAsync(CancellationToken ct)
    {
        try
        {
            using var response = await _http.GetAsync(new Uri(HttpUrl, "ping"), ct).ConfigureAwait(false);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>
    /// /ping answers for any ClickHouse; a query's response names the server, which tells ours apart from
    /// another one that took the port first (ours then fails to bind and exits).
    /// </summary>
    private async Task<bool> IsOursAsync(CancellationToken ct)
    {
        try
        {
            using var response = await _http.GetAsync(new Uri(HttpUrl, "?query=SELECT%201"), ct).ConfigureAwait(false);
            return response.Headers.TryGetValues(DisplayNameHeader, out var names) && names.Contains(_displayName);
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static (int Http, int Tcp, int Interserver) PickFreePorts()
    {
        // All three stay bound until each has a port, so the ports differ.
        using var http = BindEphemeralPort();
        using var tcp = BindEphemeralPort();
        using var interserver = BindEphemeralPort();
        return (LocalPort(http), LocalPort(tcp), LocalPort(interserver));
    }

    private static Socket BindEphemeralPort()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    private static int LocalPort(Socket socket) => ((IPEndPoint)socket.LocalEndPoint!).Port;

    private string ErrorLogTail(long start)
    {
        if (!File.Exists(_layout.ErrorLogPath))
        {
            return $"It wrote no error log ({_layout.ErrorLogPath}).";
        }

        using var stream = new FileStream(_layout.ErrorLogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(Math.Max(start, stream.Length - ErrorTailBytes), SeekOrigin.Begin);
        using var reader = new StreamReader(stream);
        return $"End of {_layout.ErrorLogPath}:{Environment.NewLine}{reader.ReadToEnd()}";
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?$")]
    private static partial Regex TableName();
}
