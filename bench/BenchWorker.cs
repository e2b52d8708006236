using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.Stages;

namespace EventPipeline.Bench;

/// <summary>
/// The worker as production runs it, <c>pipeline run</c> in its own process with the defaults a user gets (only where
/// to read and write, its metrics port and a quieter log are set), and the HTTP endpoints a bench reads from it:
/// /readyz, /metrics and /latency. Disposing kills it if it still runs.
/// </summary>
internal sealed class BenchWorker : IDisposable
{
    private readonly HttpClient _http;

    private BenchWorker(PipelineProcess process, int port)
    {
        Process = process;
        Port = port;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public PipelineProcess Process { get; }
    public int Port { get; }
    public int Pid => Process.Id;

    /// <param name="logPath">Every output line of the worker goes there.</param>
    /// <param name="settings">Configuration on top of the defaults (Key=Value, e.g. Batch:MaxLatencyMs=500), to compare settings.</param>
    /// <param name="pipelineDll">Another build of the worker (A/B runs); this one by default.</param>
    /// <param name="environment">Environment variables for the worker only (runtime knobs such as DOTNET_GCgen0size).</param>
    public static BenchWorker Start(string bootstrapServers, string topic, Uri clickHouseUrl, string database, string table, string name, string logPath,
        IEnumerable<string>? settings = null, string? pipelineDll = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var port = FreePort();
        string[] args =
        [
            $"--Kafka:BootstrapServers={bootstrapServers}", $"--Kafka:Topic={topic}", $"--Kafka:GroupId={name}-{Guid.NewGuid():N}",
            $"--ClickHouse:Url={clickHouseUrl}", $"--ClickHouse:Database={database}", $"--ClickHouse:Table={table}",
            "--Metrics:Host=127.0.0.1", $"--Metrics:Port={port}", "--Logging:LogLevel:Default=Warning",
            .. (settings ?? []).Select(setting => $"--{setting}"),
        ];
        // The worker inherits this process's environment at start: the variables are set around the start only.
        environment ??= new Dictionary<string, string>();
        foreach (var (key, value) in environment)
            Environment.SetEnvironmentVariable(key, value);
        try
        {
            return new BenchWorker(PipelineProcess.Start(args, name, logPath: logPath, pipelineDll: pipelineDll), port);
        }
        finally
        {
            foreach (var key in environment.Keys)
                Environment.SetEnvironmentVariable(key, null);
        }
    }

    /// <exception cref="InvalidOperationException">The worker exited.</exception>
    /// <exception cref="TimeoutException">Not ready within <paramref name="timeout"/>.</exception>
    public async Task WaitReadyAsync(TimeSpan timeout, CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            ThrowIfExited();
            try
            {
                using var response = await _http.GetAsync("/readyz", ct);
                if (response.StatusCode == HttpStatusCode.OK)
                    return;
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"{Process.Name} not ready after {timeout.TotalSeconds} s: {Process.Tail}");
            await Task.Delay(100, ct);
        }
    }

    /// <summary>GET /latency: cumulative, or since the previous interval call.</summary>
    public async Task<EndToEndLatencySnapshot> LatencyAsync(bool interval, CancellationToken ct) =>
        await _http.GetFromJsonAsync<EndToEndLatencySnapshot>(interval ? "/latency?interval=true" : "/latency", ct)
        ?? throw new InvalidOperationException($"{Process.Name}: /latency answered null");

    /// <summary>Starts the worker's latency windows again (POST /latency/reset): what was acknowledged so far is forgotten.</summary>
    public async Task ResetLatencyAsync(CancellationToken ct)
    {
        using var response = await _http.PostAsync("/latency/reset", content: null, ct);
        response.EnsureSuccessStatusCode();
    }

    public Task<string> MetricsAsync(CancellationToken ct) => _http.GetStringAsync("/metrics", ct);

    /// <summary>Scrapes /metrics every <paramref name="interval"/> as Prometheus would, until cancelled; returns the scrapes made.</summary>
    public async Task<int> ScrapeLoopAsync(TimeSpan interval, CancellationToken ct)
    {
        var scrapes = 0;
        try
        {
            while (true)
            {
                await Task.Delay(interval, ct);
                try
                {
                    await MetricsAsync(ct);
                    scrapes++;
                }
                catch (HttpRequestException)
                {
                    // not listening yet, or already stopping
                }
            }
        }
        catch (OperationCanceledException)
        {
            return scrapes;
        }
    }

    /// <summary>The sum of every sample of one metric (all label sets) in a /metrics text; 0 when absent.</summary>
    public static double Sum(string metricsText, string metric) =>
        metricsText.Split('\n')
            .Where(line => line.StartsWith(metric, StringComparison.Ordinal) && line.Length > metric.Length && line[metric.Length] is ' ' or '{')
            .Sum(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

    /// <summary>SIGTERM, then waits for the drain and exit.</summary>
    public async Task StopAsync()
    {
        if (Process.HasExited)
            return;
        Process.Terminate();
        await Process.WaitForExitAsync(TimeSpan.FromSeconds(60));
    }

    public void ThrowIfExited()
    {
        if (Process.HasExited)
            throw new InvalidOperationException($"{Process.Name} exited with code {Process.ExitCode}: {Process.Tail}");
    }

    public void Dispose()
    {
        _http.Dispose();
        Process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
