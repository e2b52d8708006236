using System.Diagnostics;
using System.Text;

namespace EventPipeline.DevTools.LocalServers;

/// <summary>
/// The worker (or another pipeline command) as production runs it, <c>dotnet pipeline.dll run --Section:Key=value...</c>,
/// as a child process: what the tests and the fault bench kill, terminate and restart. Its output lines go to a
/// callback and optionally a log file; disposing kills it if it still runs.
/// </summary>
public sealed class PipelineProcess : IDisposable
{
    private const int TailLines = 20;

    private readonly Process _process;
    private readonly Action<PipelineProcess, string>? _onLine;
    private readonly StreamWriter? _log;
    private readonly StringBuilder _stderr = new();
    private readonly Queue<string> _tail = new();
    private readonly Lock _gate = new();
    private bool _closed;

    private PipelineProcess(Process process, string name, Action<PipelineProcess, string>? onLine, StreamWriter? log)
    {
        _process = process;
        Name = name;
        _onLine = onLine;
        _log = log;
    }

    /// <summary>pipeline.dll, which a project reference to src/Pipeline copies next to the calling assembly.</summary>
    public static string PipelineDll => Path.Combine(AppContext.BaseDirectory, "pipeline.dll");

    /// <summary>The dotnet host running this process (dotnet test sets DOTNET_HOST_PATH), else dotnet from PATH.</summary>
    public static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    /// <summary>A name for log lines and errors, such as worker or final.</summary>
    public string Name { get; }

    public int Id { get; private set; }

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

    /// <summary>The last output lines (stdout and stderr), for a failure message.</summary>
    public string Tail
    {
        get
        {
            lock (_gate)
            {
                return string.Join(Environment.NewLine, _tail);
            }
        }
    }

    /// <param name="configurationArgs">The arguments after the subcommand.</param>
    /// <param name="name">What log lines and errors call this process.</param>
    /// <param name="command">The subcommand: <c>run</c> (the worker) or <c>produce</c> (the codec's producer pod).</param>
    /// <param name="onLine">Called with each output line, on a thread-pool thread.</param>
    /// <param name="logPath">A file that receives every output line; closed on dispose.</param>
    /// <param name="pipelineDll">Another build of the pipeline to run (benchmark A/B); this one by default.</param>
    public static PipelineProcess Start(IEnumerable<string> configurationArgs, string name = "worker", string command = "run",
        Action<PipelineProcess, string>? onLine = null, string? logPath = null, string? pipelineDll = null)
    {
        var startInfo = new ProcessStartInfo(DotnetHost)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = pipelineDll is null ? AppContext.BaseDirectory : Path.GetDirectoryName(pipelineDll)!,
        };
        startInfo.ArgumentList.Add(pipelineDll ?? PipelineDll);
        startInfo.ArgumentList.Add(command);
        foreach (var argument in configurationArgs)
        {
            startInfo.ArgumentList.Add(argument);
        }

        var log = logPath is null ? null : new StreamWriter(logPath) { AutoFlush = true };
        var process = new Process { StartInfo = startInfo };
        var wrapper = new PipelineProcess(process, name, onLine, log);
        process.OutputDataReceived += (_, e) => wrapper.OnLine(e.Data, isError: false);
        process.ErrorDataReceived += (_, e) => wrapper.OnLine(e.Data, isError: true);
        process.Start();
        wrapper.Id = process.Id;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return wrapper;
    }

    /// <summary>SIGKILL: no drain, no commit, no leave-group, as an OOM kill or a node loss would do.</summary>
    public void Kill() => _process.Kill();

    /// <summary>SIGTERM, as Kubernetes sends before it waits out the grace period.</summary>
    public void Terminate()
    {
        if (NativeMethods.kill(Id, NativeMethods.SigTerm) != 0 && !_process.HasExited)
        {
            throw new InvalidOperationException($"kill({Id}, SIGTERM) failed");
        }
    }

    /// <summary>Waits for the exit (and the last output lines); throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Name} (pid {Id}) still ran {timeout.TotalSeconds} s later");
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
        lock (_gate)
        {
            _closed = true;
            _log?.Dispose();
        }
    }

    private void OnLine(string? line, bool isError)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            if (isError)
            {
                _stderr.AppendLine(line);
            }

            _tail.Enqueue(line);
            if (_tail.Count > TailLines)
            {
                _tail.Dequeue();
            }

            if (!_closed)
            {
                _log?.WriteLine(line);
            }
        }

        _onLine?.Invoke(this, line);
    }
}
