using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace EventPipeline.Bench.Micro;

/// <summary>
/// Runs the BenchmarkDotNet micro-benchmarks (all of them unless a --filter is given) with a short job, then copies
/// the GitHub markdown and brief JSON summaries to perf-data/micro-latest.md and .json.
/// </summary>
internal static class MicroCommand
{
    public static int Run(string[] args)
    {
        // In-process: the repository's central package management and warnings-as-errors do not fit the
        // project BenchmarkDotNet would otherwise generate and build, and a short job needs no separate process.
        var config = ManualConfig.Create(DefaultConfig.Instance)
            .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddExporter(JsonExporter.Brief) // the default config already has the GitHub markdown exporter
            .WithOptions(ConfigOptions.DisableOptimizationsValidator);
        if (!args.Contains("--filter"))
            args = [.. args, "--filter", "*"];
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(MicroCommand).Assembly).Run(args, config).ToList();
        Directory.CreateDirectory("perf-data");
        foreach (var summary in summaries)
        {
            var results = summary.ResultsDirectoryPath;
            foreach (var (pattern, target) in new[] { ("*-report-github.md", "micro-latest.md"), ("*-report-brief.json", "micro-latest.json") })
            {
                var file = Directory.GetFiles(results, pattern).OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault();
                if (file is not null)
                    File.Copy(file, Path.Combine("perf-data", target), overwrite: true);
            }
        }
        return summaries.Any(s => s.HasCriticalValidationErrors) ? 1 : 0;
    }
}
