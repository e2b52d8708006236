using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace EventPipeline.Tests.ClickHouse;

/// <summary>
/// A throwaway ClickHouse server (the Debian 18.16 package) in its own temp folder on free loopback ports, UTC,
/// with LowCardinality allowed. Minimal on purpose: the shared test launcher will replace it.
/// </summary>
internal sealed class TemporaryClickHouseServer : IAsyncDisposable
{
    private const string ServerBinary = "/usr/sbin/clickhouse-server";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly string _folder;

    private TemporaryClickHouseServer(Process process, string folder, int httpPort)
    {
        _process = process;
        _folder = folder;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}/") };
    }

    public HttpClient Http { get; }

    public static async Task<TemporaryClickHouseServer> StartAsync()
    {
        var folder = Directory.CreateTempSubdirectory("clickhouse-test-").FullName;
        var (httpPort, tcpPort) = FreePorts();
        await File.WriteAllTextAsync(Path.Combine(folder, "config.xml"), $"""
            <yandex>
              <logger><level>warning</level><log>{folder}/server.log</log><errorlog>{folder}/error.log</errorlog></logger>
              <http_port>{httpPort}</http_port>
              <tcp_port>{tcpPort}</tcp_port>
              <listen_host>127.0.0.1</listen_host>
              <path>{folder}/data/</path>
              <tmp_path>{folder}/tmp/</tmp_path>
              <user_files_path>{folder}/user_files/</user_files_path>
              <format_schema_path>{folder}/format_schemas/</format_schema_path>
              <users_config>users.xml</users_config>
              <default_profile>default</default_profile>
              <default_database>default</default_database>
              <timezone>UTC</timezone>
              <mark_cache_size>268435456</mark_cache_size>
            </yandex>
            """);
        await File.WriteAllTextAsync(Path.Combine(folder, "users.xml"), """
            <yandex>
              <profiles><default><allow_experimental_low_cardinality_type>1</allow_experimental_low_cardinality_type></default></profiles>
              <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
              <quotas><default></default></quotas>
            </yandex>
            """);
        var start = new ProcessStartInfo(ServerBinary, $"--config-file={folder}/config.xml")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{ServerBinary} did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var server = new TemporaryClickHouseServer(process, folder, httpPort);
        try
        {
            await server.WaitUntilReadyAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs a statement; a failure throws with the server's error text.</summary>
    public Task<string> QueryAsync(string sql) => SendAsync("", new StringContent(sql));

    /// <summary>Posts an INSERT whose data is the request body.</summary>
    public Task<string> InsertAsync(string insertQuery, HttpContent body) => SendAsync("?query=" + Uri.EscapeDataString(insertQuery), body);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private async Task<string> SendAsync(string pathAndQuery, HttpContent body)
    {
        using var response = await Http.PostAsync(pathAndQuery, body);
        var text = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode ? text : throw new HttpRequestException($"ClickHouse {(int)response.StatusCode}: {text}");
    }

    private async Task WaitUntilReadyAsync()
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"clickhouse-server exited with {_process.ExitCode}: {ErrorLog()}");
            try
            {
                if (await Http.GetStringAsync("ping") == "Ok.\n")
                    return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"clickhouse-server not ready after {StartTimeout}: {ErrorLog()}");
    }

    private string ErrorLog()
    {
        var path = Path.Combine(_folder, "error.log");
        return File.Exists(path) ? File.ReadAllText(path) : "(no error log)";
    }

    /// <summary>Two distinct free ports: both listeners are open at once, so the OS cannot hand out the same one twice.</summary>
    private static (int, int) FreePorts()
    {
        var first = new TcpListener(IPAddress.Loopback, 0);
        var second = new TcpListener(IPAddress.Loopback, 0);
        first.Start();
        second.Start();
        var ports = (((IPEndPoint)first.LocalEndpoint).Port, ((IPEndPoint)second.LocalEndpoint).Port);
        first.Stop();
        second.Stop();
        return ports;
    }
}
