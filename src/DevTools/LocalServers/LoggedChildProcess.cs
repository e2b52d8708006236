using System.Diagnostics;
using System.Globalization;

namespace EventPipeline.DevTools.LocalServers;

/// <summary>
/// A development server run as a child process (ClickHouse, ZooKeeper): its stdout and stderr appended to a log file,
/// its pid written to a file so that a later run can find and kill an orphan, both cleaned up when it is released.
/// </summary>
internal sealed class LoggedChildProcess
{
    private readonly Lock _logGate = new();
    private readonly string _pidPath;
    private StreamWriter? _log;

    private LoggedChildProcess(Process process, string logPath, string pidPath)
    {
        Process = process;
        _pidPath = pidPath;
        // Open before the start: nothing the process prints first is lost.
        _log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        process.OutputDataReceived += CopyToLog;
        process.ErrorDataReceived += CopyToLog;
    }

    public Process Process { get; }

    public bool HasExited => Process.HasExited;

    public static LoggedChildProcess Start(ProcessStartInfo startInfo, string logPath, string pidPath)
    {
        startInfo.UseShellExecute = false;
        startInfo.RedirectStandardOutput = true;
        startInfo.RedirectStandardError = true;
        var child = new LoggedChildProcess(new Process { StartInfo = startInfo }, logPath, pidPath);
        try
        {
            child.Process.Start();
        }
        catch
        {
            child.CloseLog();
            child.Process.Dispose();
            throw;
        }

        File.WriteAllText(pidPath, child.Process.Id.ToString(CultureInfo.InvariantCulture));
        child.Process.BeginOutputReadLine();
        child.Process.BeginErrorReadLine();
        return child;
    }

    /// <summary>SIGTERM, then waits up to <paramref name="timeout"/> for the process to exit; SIGKILL if it does not.</summary>
    public async Task TerminateAsync(TimeSpan timeout, bool entireProcessTree = false)
    {
        if (Process.HasExited)
            return;
        // Fails only when the process has exited meanwhile.
        _ = NativeMethods.kill(Process.Id, NativeMethods.SigTerm);
        using var giveUp = new CancellationTokenSource(timeout);
        try
        {
            await Process.WaitForExitAsync(giveUp.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Process.Kill(entireProcessTree);
        }
    }

    /// <summary>Makes what the process printed so far readable in the log file.</summary>
    public void FlushLog()
    {
        lock (_logGate)
        {
            _log?.Flush();
        }
    }

    /// <summary>Waits for the (exiting or killed) process, closes its log and deletes its pid file.</summary>
    public void Release()
    {
        // The parameterless wait also waits until the redirected output has been copied.
        Process.WaitForExit();
        Process.Dispose();
        CloseLog();
        File.Delete(_pidPath);
    }

    private void CloseLog()
    {
        lock (_logGate)
        {
            _log?.Dispose();
            _log = null;
        }
    }

    private void CopyToLog(object sender, DataReceivedEventArgs e)
    {
        if (e.Data is null)
        {
            return;
        }

        lock (_logGate)
        {
            _log?.WriteLine(e.Data);
        }
    }
}
