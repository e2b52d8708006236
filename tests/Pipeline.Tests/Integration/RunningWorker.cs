using EventPipeline.Host;
using EventPipeline.Host.Configuration;
using EventPipeline.Stages;
using Microsoft.Extensions.Configuration;
using Xunit.Abstractions;
using EventPipeline.Tests.Infrastructure;

namespace EventPipeline.Tests.Integration;

/// <summary>A real <see cref="PipelineWorker"/> running in the test process, with its own metrics registry.</summary>
internal sealed class RunningWorker : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();

    private RunningWorker(PipelineWorker worker, PipelineMetrics metrics, Task run)
    {
        Worker = worker;
        Metrics = metrics;
        Run = run;
    }

    public PipelineWorker Worker { get; }
    public PipelineMetrics Metrics { get; }
    public Task Run { get; private set; }

    public static RunningWorker Start(string bootstrapServers, string topic, Uri clickHouse, string table, ITestOutputHelper output,
        IDictionary<string, string?>? overrides = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = bootstrapServers,
            ["Kafka:Topic"] = topic,
            ["Kafka:GroupId"] = $"group-{topic}",
            ["Kafka:Properties:session.timeout.ms"] = "6000",
            ["Kafka:Properties:heartbeat.interval.ms"] = "500",
            ["ClickHouse:Url"] = clickHouse.ToString(),
            ["ClickHouse:Table"] = table,
            ["Batch:Size"] = "5000",
            ["Batch:MaxLatencyMs"] = "200",
            ["Metrics:Port"] = "0",
            ["Pipeline:DrainTimeoutSeconds"] = "20",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
            values[key] = value;
        var settings = PipelineSettings.Load(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
        var metrics = new PipelineMetrics(Prometheus.Metrics.NewCustomRegistry());
        var worker = new PipelineWorker(settings, metrics, TestLogger.CreateFactory(output, Microsoft.Extensions.Logging.LogLevel.Information));
        var running = new RunningWorker(worker, metrics, Task.CompletedTask);
        running.Run = Task.Run(() => worker.RunAsync(running._stop.Token));
        return running;
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Run.WaitAsync(TimeSpan.FromSeconds(60));
    }

    public async ValueTask DisposeAsync()
    {
        if (!Run.IsCompleted)
            await StopAsync();
        _stop.Dispose();
    }

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> describe)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Timed out after {timeout}: {describe()}");
            await Task.Delay(100);
        }
    }
}
