using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace EventPipeline.Tests.Operations;

/// <summary>A real Prometheus (Debian's package) on a free loopback port, its TSDB in a temp folder deleted afterwards.</summary>
internal sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly HttpClient _http;

    private PrometheusServer(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>Starts Prometheus scraping each job's target (host:port) every second and evaluating <paramref name="ruleFiles"/> every second.</summary>
    public static async Task<PrometheusServer> StartAsync(IReadOnlyDictionary<string, string> targetsByJob, IEnumerable<string> ruleFiles)
    {
        var directory = Path.Combine(Path.GetTempPath(), $"pipeline-tests-prometheus-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        var config = Path.Combine(directory, "prometheus.yml");
        File.WriteAllText(config, $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files:
            {string.Concat(ruleFiles.Select(f => $"  - {f}\n"))}
            scrape_configs:
            {string.Concat(targetsByJob.Select(j => $"  - job_name: {j.Key}\n    static_configs:\n      - targets: ['{j.Value}']\n"))}
            """);
        var port = OperationsTools.FreePort();
        var startInfo = new ProcessStartInfo("prometheus")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(directory, "data")}", $"--web.listen-address=127.0.0.1:{port}" })
            startInfo.ArgumentList.Add(argument);
        var process = Process.Start(startInfo)!;
        var log = Path.Combine(directory, "prometheus.log");
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (process) File.AppendAllText(log, e.Data + "\n"); };
        process.OutputDataReceived += (_, e) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var server = new PrometheusServer(process, directory, port);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"prometheus exited with {process.ExitCode}: {(File.Exists(log) ? File.ReadAllText(log) : "")}");
            try
            {
                if ((await server._http.GetAsync("/-/ready")).IsSuccessStatusCode)
                    return server;
            }
            catch (HttpRequestException)
            {
            }
            if (DateTime.UtcNow > deadline)
            {
                await server.DisposeAsync();
                throw new TimeoutException("prometheus was not ready within 30 s");
            }
            await Task.Delay(200);
        }
    }

    /// <summary>An instant query through /api/v1/query; a PromQL error fails with Prometheus's message.</summary>
    public async Task<List<(Dictionary<string, string> Labels, double Value)>> QueryAsync(string promql)
    {
        using var response = await _http.GetAsync($"/api/v1/query?query={Uri.EscapeDataString(promql)}");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (body.GetProperty("status").GetString() != "success")
            throw new Xunit.Sdk.XunitException($"Prometheus refused {promql}: {body}");
        var data = body.GetProperty("data");
        var result = data.GetProperty("result");
        if (data.GetProperty("resultType").GetString() == "scalar")
            return [([], ParseValue(result[1]))];
        return result.EnumerateArray().Select(series => (
            series.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
            ParseValue(series.GetProperty("value")[1]))).ToList();
    }

    private static double ParseValue(JsonElement value) =>
        double.Parse(value.GetString()!.Replace("+Inf", "Infinity").Replace("-Inf", "-Infinity"), System.Globalization.CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
