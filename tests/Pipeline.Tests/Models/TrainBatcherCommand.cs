using System.CommandLine;
using EventPipeline.Host.Commands;

namespace EventPipeline.Tests.Models;

/// <summary>`pipeline train batcher ARGS` (and `train codec`) run in the test process, with what it prints captured.</summary>
internal static class TrainBatcherCommand
{
    public static Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args) => TrainAsync("batcher", args);

    /// <summary>`pipeline train codec ARGS`, the same way.</summary>
    public static Task<(int ExitCode, string Output, string Error)> RunCodecAsync(params string[] args) => TrainAsync("codec", args);

    private static async Task<(int ExitCode, string Output, string Error)> TrainAsync(string model, string[] args)
    {
        var root = new RootCommand { TrainCommand.Create() };
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await root.Parse(["train", model, .. args]).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, output.ToString(), error.ToString());
    }

    /// <summary>The insert cost model shipped beside the batcher (45 real calibration inserts on 18.16).</summary>
    public static string ShippedCalibration => Path.Combine(AppContext.BaseDirectory, "Artifacts", "batcher", "insert-cost-model.json");
}
