using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace EventPipeline.DevTools.LocalServers;

/// <summary>
/// A TCP proxy on 127.0.0.1 that forwards every connection to a target (ClickHouse's HTTP port) and makes the link
/// slow: each chunk read from one side reaches the other <see cref="DelayingTcpProxyOptions.UpstreamDelay"/> (client to
/// target) or <see cref="DelayingTcpProxyOptions.DownstreamDelay"/> (target to client) later, and each direction
/// carries at most <see cref="DelayingTcpProxyOptions.BytesPerSecond"/> when set. The slow-ClickHouse bench profile
/// points the worker's ClickHouse:Url at it: a remote or congested server, where every insert pays a round trip.
/// </summary>
/// <remarks>
/// The delay is a propagation delay, not a pause per chunk: chunks are timestamped when read and queued, so a long
/// body streams at full speed and arrives the delay later as a whole (the way a long link behaves), instead of paying
/// the delay once per read. Disposing stops accepting and closes every open connection.
/// </remarks>
public sealed class DelayingTcpProxy : IAsyncDisposable
{
    private const int ChunkBytes = 64 * 1024;

    private readonly DelayingTcpProxyOptions _options;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly List<Task> _connections = [];
    private readonly Lock _gate = new();
    private long _connectionCount;

    private DelayingTcpProxy(DelayingTcpProxyOptions options)
    {
        _options = options;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptLoopAsync(_stop.Token);
    }

    /// <summary>The port the proxy listens on (127.0.0.1).</summary>
    public int Port { get; }

    /// <summary>The target URL with its host and port replaced by the proxy's.</summary>
    public Uri Wrap(Uri targetUrl) => new UriBuilder(targetUrl) { Host = "127.0.0.1", Port = Port }.Uri;

    /// <summary>Client connections accepted so far.</summary>
    public long Connections => Interlocked.Read(ref _connectionCount);

    public static DelayingTcpProxy Start(DelayingTcpProxyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new DelayingTcpProxy(options);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Task[] open;
        lock (_gate)
            open = [.. _connections];
        await Task.WhenAll(open);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(ct);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return; // stopped
            }
            Interlocked.Increment(ref _connectionCount);
            lock (_gate)
            {
                _connections.RemoveAll(t => t.IsCompleted);
                _connections.Add(Task.Run(() => ServeAsync(client, ct), CancellationToken.None));
            }
        }
    }

    private async Task ServeAsync(TcpClient client, CancellationToken ct)
    {
        using (client)
        using (var target = new TcpClient())
        {
            client.NoDelay = true;
            target.NoDelay = true;
            try
            {
                await target.ConnectAsync(_options.TargetHost, _options.TargetPort, ct);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                return; // the client sees its connection closed, as with an unreachable server
            }
            // Each direction ends at the end of its source and passes the half-close on, so a client that shuts down its
            // sending side after the request still gets the whole response; a reset ends both.
            var up = PumpAsync(client.GetStream(), target.GetStream(), _options.UpstreamDelay, ct);
            var down = PumpAsync(target.GetStream(), client.GetStream(), _options.DownstreamDelay, ct);
            await Task.WhenAll(up, down);
        }
    }

    /// <summary>Copies <paramref name="source"/> to <paramref name="destination"/>, each chunk delivered <paramref name="delay"/> after it was read.</summary>
    private async Task PumpAsync(NetworkStream source, NetworkStream destination, TimeSpan delay, CancellationToken ct)
    {
        var queue = Channel.CreateUnbounded<(long ReadTimestamp, byte[] Bytes, int Length)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var reading = ReadChunksAsync(source, queue.Writer, ct);
        try
        {
            await foreach (var (readTimestamp, bytes, length) in queue.Reader.ReadAllAsync(ct))
            {
                var due = delay - Stopwatch.GetElapsedTime(readTimestamp);
                if (due > TimeSpan.Zero)
                    await Task.Delay(due, ct);
                var sent = Stopwatch.GetTimestamp();
                await destination.WriteAsync(bytes.AsMemory(0, length), ct);
                if (_options.BytesPerSecond is { } rate)
                {
                    // The cap: this chunk occupies the link for length/rate seconds, whatever the socket took.
                    var busy = TimeSpan.FromSeconds(length / (double)rate) - Stopwatch.GetElapsedTime(sent);
                    if (busy > TimeSpan.Zero)
                        await Task.Delay(busy, ct);
                }
            }
            destination.Socket.Shutdown(SocketShutdown.Send); // pass the half-close on: the peer sees the end of the stream
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // the connection ended on either side
        }
        await reading;
    }

    private static async Task ReadChunksAsync(NetworkStream source, ChannelWriter<(long, byte[], int)> queue, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                var buffer = new byte[ChunkBytes];
                var read = await source.ReadAsync(buffer, ct);
                if (read == 0)
                    break;
                queue.TryWrite((Stopwatch.GetTimestamp(), buffer, read));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // the connection ended on either side
        }
        queue.TryComplete();
    }
}
