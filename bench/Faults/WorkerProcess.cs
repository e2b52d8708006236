using System.Diagnostics;
using EventPipeline.DevTools.LocalServers;

namespace EventPipeline.Bench.Faults;

/// <summary>
/// The worker as production runs it, <c>dotnet pipeline.dll run --Section:Key=value...</c>, as a child process
/// whose log goes to a file. Disposing kills it if it still runs.
/// </summary>
internal sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _gate = new();
    private readonly Queue<string> _tail = new();
    private bool _closed;

    private WorkerProcess(Process process, StreamWriter log)
    {
        _process = process;
        _log = log;
    }

    /// <summary>pipeline.dll is copied next to the bench by its project reference.</summary>
    public static string PipelineDll => Path.Combine(AppContext.BaseDirectory, "pipeline.dll");

    public int Id { get; private set; }

    public bool HasExited => _process.HasExited;

    /// <summary>The last log lines, for a failure message.</summary>
    public string Tail
    {
        get
        {
            lock (_gate)
                return string.Join(Environment.NewLine, _tail);
        }
    }

    public static WorkerProcess Start(IEnumerable<string> configurationArgs, string logPath)
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path ? path : "dotnet";
        var startInfo = new ProcessStartInfo(host)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        startInfo.ArgumentList.Add(PipelineDll);
        startInfo.ArgumentList.Add("run");
        foreach (var argument in configurationArgs)
            startInfo.ArgumentList.Add(argument);

        var worker = new WorkerProcess(new Process { StartInfo = startInfo }, new StreamWriter(logPath) { AutoFlush = true });
        worker._process.OutputDataReceived += (_, e) => worker.OnLine(e.Data);
        worker._process.ErrorDataReceived += (_, e) => worker.OnLine(e.Data);
        worker._process.Start();
        worker.Id = worker._process.Id;
        worker._process.BeginOutputReadLine();
        worker._process.BeginErrorReadLine();
        return worker;
    }

    /// <summary>SIGKILL: no drain, no commit, no leave-group, as an OOM kill or a node loss would do.</summary>
    public void Kill() => _process.Kill();

    /// <summary>SIGTERM, as Kubernetes sends before it waits out the grace period.</summary>
    public void Terminate()
    {
        if (NativeMethods.kill(Id, NativeMethods.SigTerm) != 0 && !_process.HasExited)
            throw new InvalidOperationException($"kill({Id}, SIGTERM) failed");
    }

    /// <exception cref="TimeoutException">It still ran after <paramref name="timeout"/>.</exception>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"worker pid {Id} still ran {timeout.TotalSeconds} s later");
        }
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
        lock (_gate)
        {
            _closed = true;
            _log.Dispose();
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
            return;
        lock (_gate)
        {
            if (_closed)
                return;
            _log.WriteLine(line);
            _tail.Enqueue(line);
            if (_tail.Count > 20)
                _tail.Dequeue();
        }
    }
}
