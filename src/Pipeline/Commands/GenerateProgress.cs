using System.Diagnostics;
using System.Globalization;

namespace EventPipeline.Host.Commands;

/// <summary>
/// <c>generate</c>'s progress on stderr. On a terminal one line is rewritten in place (\r); when the stream is redirected
/// (a log file, a pipe, kubectl logs) a full line is written at most every <see cref="Interval"/> or at each further 10%,
/// so that a log gets readable lines instead of one giant one.
/// </summary>
internal sealed class GenerateProgress
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    private readonly TextWriter _writer;
    private readonly long _total;
    private readonly bool _lines;
    private readonly Func<TimeSpan> _elapsed;
    private TimeSpan _lastLine = TimeSpan.Zero;
    private long _lastDecile = 0;
    private long _lastReported = -1;

    /// <param name="redirected">Whether the stream goes to a file or pipe (Console.IsErrorRedirected for stderr).</param>
    /// <param name="elapsed">The time since start (tests pass their own clock).</param>
    public GenerateProgress(TextWriter writer, long total, bool redirected, Func<TimeSpan>? elapsed = null)
    {
        _writer = writer;
        _total = total;
        _lines = redirected;
        if (elapsed is null)
        {
            var clock = Stopwatch.StartNew();
            elapsed = () => clock.Elapsed;
        }
        _elapsed = elapsed;
    }

    public void Report(long produced)
    {
        if (!_lines)
        {
            _writer.Write($"\r{Format(produced)}");
            return;
        }
        var decile = _total <= 0 ? 10 : produced * 10 / _total;
        var now = _elapsed();
        if (produced == _lastReported || (decile <= _lastDecile && now - _lastLine < Interval))
            return;
        _writer.WriteLine(Format(produced));
        _writer.Flush();
        _lastLine = now;
        _lastDecile = Math.Max(decile, _lastDecile);
        _lastReported = produced;
    }

    /// <summary>Ends the progress: a terminal's line gets its newline; a log gets the final count if it lacks it.</summary>
    public void Finish(long produced)
    {
        if (!_lines)
        {
            _writer.WriteLine();
            return;
        }
        if (produced != _lastReported)
            _writer.WriteLine(Format(produced));
        _writer.Flush();
    }

    private string Format(long produced) => string.Create(CultureInfo.InvariantCulture,
        $"produced {produced:N0}/{_total:N0} ({(_total <= 0 ? 100 : produced * 100 / _total)}%)");
}
