using EventPipeline.DevTools.LocalServers;
using Xunit.Abstractions;

namespace EventPipeline.Tests.Integration;

/// <summary>Starts <see cref="PipelineProcess"/>es whose output lines go to the test output.</summary>
public static class TestPipelineProcess
{
    /// <summary>The codec model the image ships (/app/Artifacts/codec); the build copies it next to the tests too.</summary>
    public static string ShippedCodecModel => Path.Combine(AppContext.BaseDirectory, "Artifacts", "codec");

    /// <param name="command">The subcommand: <c>run</c> (the worker) or <c>produce</c> (the codec's producer pod).</param>
    public static PipelineProcess Start(IEnumerable<string> configurationArgs, ITestOutputHelper output, string name = "worker", string command = "run") =>
        PipelineProcess.Start(configurationArgs, name, command, (process, line) => WriteLine(output, $"[{process.Name} {process.Id}] {line}"));

    /// <summary>
    /// `pipeline produce --from-topic` as its pod runs it: the shipped model, a group of its own, and /metrics, /healthz
    /// and /readyz on 127.0.0.1:<paramref name="metricsPort"/>.
    /// </summary>
    public static PipelineProcess StartProduce(string bootstrapServers, string source, string target, int metricsPort, ITestOutputHelper output,
        params string[] extraArgs) =>
        Start(
        [
            "--from-topic", source, "--group", $"produce-{Guid.NewGuid():N}", "--model", ShippedCodecModel, "--topic", target,
            "--bootstrap-servers", bootstrapServers, "--Metrics:Host=127.0.0.1", $"--Metrics:Port={metricsPort}", .. extraArgs,
        ], output, "produce", command: "produce");

    private static void WriteLine(ITestOutputHelper output, string line)
    {
        try
        {
            output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // xunit refuses output after the test finished.
        }
    }
}
