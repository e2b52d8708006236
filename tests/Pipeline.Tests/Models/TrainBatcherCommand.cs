using System.CommandLine;
using EventPipeline.Host.Commands;

namespace EventPipeline.Tests.Models;

/// <summary>`pipeline train batcher ARGS` run in the test process, with what it prints captured.</summary>
internal static class TrainBatcherCommand
{
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        var root = new RootCommand { TrainCommand.Create() };
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await root.Parse(["train", "batcher", .. args]).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, output.ToString(), error.ToString());
    }

    /// <summary>The insert cost model shipped beside the batcher (45 real calibration inserts on 18.16).</summary>
    public static string ShippedCalibration => Path.Combine(AppContext.BaseDirectory, "Artifacts", "batcher", "insert-cost-model.json");
}
