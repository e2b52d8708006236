using System.Text.Json;
using EventPipeline.Tests.Infrastructure;
using Xunit.Abstractions;

namespace EventPipeline.Tests.Integration;

/// <summary>The README's first command runs `pipeline demo`; this keeps it true, as a real child process.</summary>
public sealed class DemoCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("pipeline-demo-test-").FullName;

    [Fact]
    public async Task Demo_runs_with_no_configuration_and_accounts_for_every_event()
    {
        var summaryPath = Path.Combine(_work, "summary.json");
        var result = await ExternalProcess.RunAsync("dotnet",
            [Path.Combine(AppContext.BaseDirectory, "pipeline.dll"), "demo", "--events", "20000", "--summary-json", summaryPath,
             "--state-dir", Path.Combine(_work, "clickhouse")],
            timeout: TimeSpan.FromMinutes(3));
        output.WriteLine(result.Stdout);
        output.WriteLine(result.Stderr);
        Assert.Equal(0, result.ExitCode);

        using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(summaryPath));
        var root = summary.RootElement;
        var produced = root.GetProperty("produced").GetInt64();
        var inserted = root.GetProperty("inserted").GetInt64();
        var deadLettered = root.GetProperty("dead_lettered").GetInt64();
        Assert.Equal(20_000, produced);
        Assert.Equal(0, root.GetProperty("lost").GetInt64());
        Assert.Equal(produced, inserted + deadLettered);
        Assert.InRange(deadLettered, 100, 300); // the demo's 1% malformed share
        Assert.True(root.GetProperty("events_per_second").GetDouble() > 0);
        var latency = root.GetProperty("latency_ms");
        Assert.True(latency.GetProperty("p50").GetDouble() <= latency.GetProperty("p99").GetDouble());
        Assert.True(root.GetProperty("seconds").GetDouble() > 0);
    }

    public void Dispose() => Directory.Delete(_work, recursive: true);
}
