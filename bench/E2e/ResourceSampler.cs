using System.Globalization;

namespace EventPipeline.Bench.E2e;

/// <summary>
/// Polls the resident set size (VmRSS) of this process and of the ClickHouse server every 50 ms and keeps the
/// peaks. It also resets this process's VmHWM (writing 5 to /proc/self/clear_refs) so that the kernel's own
/// high-water mark, which a poll can miss, covers exactly the sampled interval.
/// </summary>
internal sealed class ResourceSampler : IAsyncDisposable
{
    private readonly int? _serverPid;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public ResourceSampler(int? serverPid)
    {
        _serverPid = serverPid;
        ResetHighWaterMark();
        StartBenchRssMiB = ReadMiB("self", "VmRSS") ?? 0;
        _loop = Task.Run(LoopAsync);
    }

    public double StartBenchRssMiB { get; }
    public double PeakBenchRssMiB { get; private set; }
    public double PeakServerRssMiB { get; private set; }

    /// <summary>The kernel's peak since construction (VmHWM after the reset), or the polled peak where the reset failed.</summary>
    public double BenchHighWaterMiB { get; private set; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        Sample();
        BenchHighWaterMiB = Math.Max(ReadMiB("self", "VmHWM") ?? 0, PeakBenchRssMiB);
        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Sample();
            try
            {
                await Task.Delay(50, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void Sample()
    {
        PeakBenchRssMiB = Math.Max(PeakBenchRssMiB, ReadMiB("self", "VmRSS") ?? 0);
        if (_serverPid is { } pid)
            PeakServerRssMiB = Math.Max(PeakServerRssMiB, ReadMiB(pid.ToString(CultureInfo.InvariantCulture), "VmRSS") ?? 0);
    }

    private static void ResetHighWaterMark()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Older kernels or a restricted /proc: the polled peak still stands.
        }
    }

    public static double? ReadMiBFromMeminfo(string field)
    {
        var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return line is null ? null : long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
    }

    public static double? ReadMiB(string process, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{process}/status"))
            {
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                {
                    var kib = long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                    return kib / 1024.0;
                }
            }
        }
        catch (IOException)
        {
        }
        return null;
    }
}
