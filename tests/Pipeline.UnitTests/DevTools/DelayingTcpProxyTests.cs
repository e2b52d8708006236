using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using EventPipeline.DevTools.LocalServers;

namespace EventPipeline.Tests.DevTools;

/// <summary>
/// The proxy of the slow-ClickHouse bench profile, against an echo server on loopback (in this process). Only lower
/// bounds on time are asserted: nothing can arrive before the delay it adds, however loaded the machine.
/// </summary>
public sealed class DelayingTcpProxyTests
{
    [Fact]
    public async Task A_round_trip_takes_at_least_both_delays_and_returns_every_byte()
    {
        await using var echo = EchoServer.Start();
        await using var proxy = DelayingTcpProxy.Start(new DelayingTcpProxyOptions
        {
            TargetHost = "127.0.0.1", TargetPort = echo.Port,
            UpstreamDelay = TimeSpan.FromMilliseconds(150), DownstreamDelay = TimeSpan.FromMilliseconds(100),
        });
        var payload = Enumerable.Range(0, 200_000).Select(i => (byte)(i * 7)).ToArray();

        var (received, elapsed) = await RoundTripAsync(proxy.Port, payload);

        Assert.Equal(payload, received);
        Assert.True(elapsed >= TimeSpan.FromMilliseconds(250), $"round trip {elapsed.TotalMilliseconds} ms, the delays add 250 ms");
        Assert.Equal(1, proxy.Connections);
    }

    [Fact]
    public async Task The_bandwidth_cap_bounds_the_transfer_time()
    {
        await using var echo = EchoServer.Start();
        // 100 KB each way at 500 KB/s: at least 0.2 s up and 0.2 s down; 64 KB chunks make the bound exact per chunk.
        await using var proxy = DelayingTcpProxy.Start(new DelayingTcpProxyOptions
        {
            TargetHost = "127.0.0.1", TargetPort = echo.Port, BytesPerSecond = 500_000,
        });
        var payload = new byte[100_000];
        Random.Shared.NextBytes(payload);

        var (received, elapsed) = await RoundTripAsync(proxy.Port, payload);

        Assert.Equal(payload, received);
        // The first chunk's pause overlaps with the echo of the next: the bound is one direction's 0.2 s.
        Assert.True(elapsed >= TimeSpan.FromMilliseconds(200), $"100 KB each way at 500 KB/s took {elapsed.TotalMilliseconds} ms");
    }

    [Fact]
    public void Options_name_the_bad_value()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => DelayingTcpProxy.Start(new DelayingTcpProxyOptions
        {
            TargetHost = "127.0.0.1", TargetPort = 8123, UpstreamDelay = TimeSpan.FromMilliseconds(-1),
        }));
        Assert.Equal("UpstreamDelay", error.ParamName);
    }

    [Fact]
    public async Task Wrap_points_a_url_at_the_proxy_and_keeps_its_path()
    {
        await using var proxy = DelayingTcpProxy.Start(new DelayingTcpProxyOptions { TargetHost = "127.0.0.1", TargetPort = 8123 });
        Assert.Equal(new Uri($"http://127.0.0.1:{proxy.Port}/ping?x=1"), proxy.Wrap(new Uri("http://localhost:8123/ping?x=1")));
    }

    /// <summary>Sends the payload, half-closes, reads until the echo ends; the time from the first byte sent to the last received.</summary>
    private static async Task<(byte[] Received, TimeSpan Elapsed)> RoundTripAsync(int port, byte[] payload)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        var clock = Stopwatch.StartNew();
        var reading = ReadToEndAsync(stream);
        await stream.WriteAsync(payload);
        client.Client.Shutdown(SocketShutdown.Send);
        var received = await reading.WaitAsync(TimeSpan.FromSeconds(30));
        return (received, clock.Elapsed);
    }

    private static async Task<byte[]> ReadToEndAsync(NetworkStream stream)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    /// <summary>Echoes every connection's bytes back and half-closes when the client does.</summary>
    private sealed class EchoServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Task _serving;

        private EchoServer()
        {
            _listener.Start();
            _serving = ServeAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public static EchoServer Start() => new();

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            await _serving;
        }

        private async Task ServeAsync()
        {
            try
            {
                while (true)
                {
                    var client = await _listener.AcceptTcpClientAsync();
                    _ = Task.Run(async () =>
                    {
                        using (client)
                        {
                            await client.GetStream().CopyToAsync(client.GetStream());
                            client.Client.Shutdown(SocketShutdown.Send);
                        }
                    });
                }
            }
            catch (SocketException)
            {
                // stopped
            }
            catch (ObjectDisposedException)
            {
                // stopped
            }
        }
    }
}
