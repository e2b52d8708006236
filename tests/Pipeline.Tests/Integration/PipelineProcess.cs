using System.Diagnostics;
using System.Text;
using EventPipeline.DevTools.LocalServers;
using Xunit.Abstractions;

namespace EventPipeline.Tests.Integration;

/// <summary>
/// The worker (or `produce`) as production runs it: <c>dotnet pipeline.dll run --Section:Key=value...</c>, a child process whose
/// log lines go to the test output. Disposing kills it if it still runs.
/// </summary>
public sealed class PipelineProcess : IDisposable
{
    private readonly Process _process;
    private readonly ITestOutputHelper _output;
    private readonly string _name;
    private readonly StringBuilder _stderr = new();
    private readonly Lock _gate = new();
    private int _pid;

    private PipelineProcess(Process process, ITestOutputHelper output, string name)
    {
        _process = process;
        _output = output;
        _name = name;
    }

    /// <summary>pipeline.dll is copied next to the test assembly by the project reference.</summary>
    public static string PipelineDll => Path.Combine(AppContext.BaseDirectory, "pipeline.dll");

    /// <summary>The codec model the image ships (/app/Artifacts/codec); the build copies it next to the tests too.</summary>
    public static string ShippedCodecModel => Path.Combine(AppContext.BaseDirectory, "Artifacts", "codec");

    /// <summary>The dotnet host running these tests (dotnet test sets DOTNET_HOST_PATH).</summary>
    public static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    public int Id => _pid;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Everything the process wrote to stderr so far (its log goes there).</summary>
    public string Stderr
    {
        get
        {
            lock (_gate)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <param name="command">The subcommand: <c>run</c> (the worker) or <c>produce</c> (the codec's producer pod).</param>
    public static PipelineProcess Start(IEnumerable<string> configurationArgs, ITestOutputHelper output, string name = "worker", string command = "run")
    {
        var startInfo = new ProcessStartInfo(DotnetHost)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        startInfo.ArgumentList.Add(PipelineDll);
        startInfo.ArgumentList.Add(command);
        foreach (var argument in configurationArgs)
        {
            startInfo.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = startInfo };
        var wrapper = new PipelineProcess(process, output, name);
        process.OutputDataReceived += (_, e) => wrapper.OnLine(e.Data, isError: false);
        process.ErrorDataReceived += (_, e) => wrapper.OnLine(e.Data, isError: true);
        process.Start();
        wrapper._pid = process.Id;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return wrapper;
    }

    /// <summary>
    /// `pipeline produce --from-topic` as its pod runs it: the shipped model, a group of its own, and /metrics, /healthz
    /// and /readyz on 127.0.0.1:<paramref name="metricsPort"/>.
    /// </summary>
    public static PipelineProcess StartProduce(string bootstrapServers, string source, string target, int metricsPort, ITestOutputHelper output) =>
        Start(
        [
            "--from-topic", source, "--group", $"produce-{Guid.NewGuid():N}", "--model", ShippedCodecModel, "--topic", target,
            "--bootstrap-servers", bootstrapServers, "--Metrics:Host=127.0.0.1", $"--Metrics:Port={metricsPort}",
        ], output, "produce", command: "produce");

    /// <summary>SIGKILL: no drain, no commit, no leave-group, as an OOM kill or a node loss would do.</summary>
    public void Kill() => _process.Kill();

    /// <summary>SIGTERM, as Kubernetes sends before it waits out the grace period.</summary>
    public void Terminate()
    {
        if (NativeMethods.kill(_pid, NativeMethods.SigTerm) != 0 && !_process.HasExited)
        {
            throw new InvalidOperationException($"kill({_pid}, SIGTERM) failed");
        }
    }

    /// <summary>Waits for the exit (and the last output lines); throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{_name} (pid {_pid}) still ran {timeout.TotalSeconds} s later");
        }

        return _process.ExitCode;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // never started
        }

        _process.Dispose();
    }

    private void OnLine(string? line, bool isError)
    {
        if (line is null)
        {
            return;
        }

        if (isError)
        {
            lock (_gate)
            {
                _stderr.AppendLine(line);
            }
        }

        try
        {
            _output.WriteLine($"[{_name} {_pid}] {line}");
        }
        catch (InvalidOperationException)
        {
            // xunit refuses output after the test finished.
        }
    }
}
