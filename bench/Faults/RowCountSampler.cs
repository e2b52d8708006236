using System.Diagnostics;
using EventPipeline.DevTools.LocalServers;

namespace EventPipeline.Bench.Faults;

/// <summary>One count() of the table, with the run clock's time when the answer arrived.</summary>
internal readonly record struct RowSample(double Seconds, long Rows);

/// <summary>
/// Polls count() every 100 ms in the background and keeps every answer: the series for the chart, and the moments
/// at which the count grew again after a fault. While ClickHouse is down the polls fail and leave a gap.
/// </summary>
internal sealed class RowCountSampler : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);
    private readonly LocalClickHouseServer _server;
    private readonly string _table;
    private readonly Stopwatch _clock;
    private readonly List<RowSample> _samples = [];
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public RowCountSampler(LocalClickHouseServer server, string table, Stopwatch clock)
    {
        _server = server;
        _table = table;
        _clock = clock;
        _loop = Task.Run(LoopAsync);
    }

    public RowSample Latest
    {
        get
        {
            lock (_gate)
                return _samples.Count > 0 ? _samples[^1] : new RowSample(0, 0);
        }
    }

    public IReadOnlyList<RowSample> Samples
    {
        get
        {
            lock (_gate)
                return [.. _samples];
        }
    }

    /// <summary>Polls a fresh count now (retrying while the server is down).</summary>
    public async Task<RowSample> SampleNowAsync(CancellationToken ct)
    {
        while (true)
        {
            try
            {
                var rows = await _server.CountAsync(_table, ct);
                return Add(rows);
            }
            catch (HttpRequestException)
            {
                await Task.Delay(Interval, ct);
            }
        }
    }

    /// <summary>
    /// Waits for the first sample taken after <paramref name="notBefore"/> whose count is above <paramref name="rows"/>.
    /// </summary>
    /// <exception cref="TimeoutException">Not within <paramref name="timeout"/>, or <paramref name="failed"/> said why not.</exception>
    public async Task<RowSample> WaitAboveAsync(long rows, double notBefore, TimeSpan timeout, Func<string?> failed, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            lock (_gate)
            {
                foreach (var sample in _samples)
                {
                    if (sample.Seconds >= notBefore && sample.Rows > rows)
                        return sample;
                }
            }
            if (failed() is { } reason)
                throw new TimeoutException($"count() of {_table} did not pass {rows:N0}: {reason}");
            if (deadline.Elapsed > timeout)
                throw new TimeoutException($"count() of {_table} did not pass {rows:N0} within {timeout.TotalSeconds} s (now {Latest.Rows:N0})");
            await Task.Delay(20, ct);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
            // stopped
        }
        _stop.Dispose();
    }

    private RowSample Add(long rows)
    {
        var sample = new RowSample(_clock.Elapsed.TotalSeconds, rows);
        lock (_gate)
        {
            // Concurrent polls may answer out of order; keep the series sorted by time.
            var i = _samples.Count;
            while (i > 0 && _samples[i - 1].Seconds > sample.Seconds)
                i--;
            _samples.Insert(i, sample);
        }
        return sample;
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                Add(await _server.CountAsync(_table, timeout.Token));
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !_stop.IsCancellationRequested)
            {
                // ClickHouse is down (a fault we injected) or slow: a gap in the series.
            }
            await Task.Delay(Interval, _stop.Token);
        }
    }
}
