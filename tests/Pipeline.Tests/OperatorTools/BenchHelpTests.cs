using EventPipeline.DevTools.Events;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.Tests.Infrastructure;
using EventPipeline.Tests.Integration;

namespace EventPipeline.Tests.OperatorTools;

/// <summary>The bench's --help exits 0 with the usage; a bad argument exits 2 with one line naming it, not a stack trace.</summary>
public sealed class BenchHelpTests
{
    /// <summary>bench/bin/&lt;same configuration as the tests&gt;/net10.0/Pipeline.Bench.dll, built with the solution.</summary>
    private static string BenchDll
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            var configuration = directory.Parent!.Name; // .../bin/Release/net10.0/
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Pipeline.sln")))
                directory = directory.Parent;
            Assert.NotNull(directory);
            var dll = Path.Combine(directory.FullName, "bench", "bin", configuration, "net10.0", "Pipeline.Bench.dll");
            Assert.True(File.Exists(dll), $"{dll} is missing: build Pipeline.sln");
            return dll;
        }
    }

    private static Task<ProcessResult> Bench(params string[] arguments) =>
        ExternalProcess.RunAsync(PipelineProcess.DotnetHost, [BenchDll, .. arguments], timeout: TimeSpan.FromSeconds(60));

    [Theory]
    [InlineData("e2e", "--help", "usage: dotnet run -c Release --project bench -- e2e [options]")]
    [InlineData("faults", "-h", "usage: dotnet run -c Release --project bench -- faults [options]")]
    [InlineData("batching", "--help", "usage: dotnet run -c Release --project bench -- batching [options]")]
    [InlineData("codec", "--help", "usage: dotnet run -c Release --project bench -- codec [options]")]
    [InlineData("codec-e2e", "-h", "usage: dotnet run -c Release --project bench -- codec-e2e [options]")]
    [InlineData("latency", "--help", "usage: dotnet run -c Release --project bench -- latency [options]")]
    [InlineData("memory", "-h", "usage: dotnet run -c Release --project bench -- memory [options]")]
    [InlineData("micro", "--help", "usage: dotnet run -c Release --project bench -- micro [BenchmarkDotNet arguments]")]
    public async Task Help_prints_the_commands_usage_and_exits_0(string command, string flag, string firstLine)
    {
        var result = await Bench(command, flag);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(firstLine, result.Stdout.Split('\n')[0]);
        Assert.Equal("", result.Stderr);
    }

    [Fact]
    public async Task E2e_help_lists_every_option_with_its_default()
    {
        var result = await Bench("e2e", "--help");

        foreach (var option in new[] { "--events N                  events per run (default 1500000)", "--partitions N              topic partitions (default 128)",
                     "--batch-sizes N,N           Batch:Size values to run (default 50000,100000)", "--no-kcat", "--out DIR                   results directory (default perf-data)" })
            Assert.Contains(option, result.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "e2e", "--events", "many" }, "bench e2e: --events 'many' is not a whole number")]
    [InlineData(new[] { "e2e", "--events", "0" }, "bench e2e: --events must be positive")]
    [InlineData(new[] { "e2e", "--bogus" }, "bench e2e: unknown option '--bogus' (see --help)")]
    [InlineData(new[] { "faults", "--guarantee", "maybe" }, "bench faults: --guarantee 'maybe' must be ExactlyOnce, AtLeastOnce or both")]
    [InlineData(new[] { "batching", "--seconds", "5" }, "bench batching: --seconds must be at least 15 (a profile needs room for its shape)")]
    [InlineData(new[] { "codec", "--events" }, "bench codec: --events needs a value")]
    [InlineData(new[] { "codec-e2e", "--batch-size", "1e5" }, "bench codec-e2e: --batch-size '1e5' is not a whole number")]
    [InlineData(new[] { "latency", "--levels", "25,150" }, "bench latency: --levels are percentages of the maximum rate, each in 1..100")]
    [InlineData(new[] { "memory", "--large", "1000", "--small", "2000" }, "bench memory: --large must be larger than --small")]
    public async Task A_bad_argument_exits_2_with_one_line_naming_it(string[] arguments, string error)
    {
        var result = await Bench(arguments);

        Assert.Equal(2, result.ExitCode);
        var lines = result.Stderr.Split('\n');
        Assert.Equal(error, lines[0]);
        Assert.StartsWith("usage: ", lines[1], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout);
    }
}
