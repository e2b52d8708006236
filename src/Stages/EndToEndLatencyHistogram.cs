using System.Diagnostics;
using EventPipeline.Stages.Flow;
using HdrHistogram;

namespace EventPipeline.Stages;

/// <summary>
/// Every acknowledged row's produce->acknowledged latency (the ack time minus the Kafka message timestamp; an
/// acknowledged insert is visible in ClickHouse), kept in an HDR histogram with 2 significant digits: any percentile
/// is within 1% of the true value (exact below 256 ms), whatever the volume, in a few tens of KB. The Prometheus
/// histogram's factor-2 buckets cannot tell 1.3 s from 2.5 s; this can. Min and max are exact.
/// </summary>
/// <remarks>
/// Thread-safe: inserts acknowledge concurrently. A batch is recorded under one lock (a few ns per row), not one lock
/// per row. Recording touches only the histogram of the current interval; an interval snapshot folds it into the
/// total, so that a benchmark can drop its warm-up by taking one after the warm-up and one at the end. Interval
/// snapshots are meant for one reader: two readers each see only the rows since the other's last snapshot.
/// </remarks>
public sealed class EndToEndLatencyHistogram
{
    public const int SignificantDigits = 2;

    /// <summary>
    /// Latencies above this (a replayed topic, a worker days behind) are counted as this: the histogram has a fixed
    /// range, and such rows say "very late" whatever their exact age. Negative latencies (a producer clock ahead of
    /// the worker's) are counted as 0.
    /// </summary>
    public const long HighestTrackableMs = 7L * 24 * 3600 * 1000;

    private readonly Lock _gate = new();
    private readonly LongHistogram _interval = new(HighestTrackableMs, SignificantDigits);
    private readonly LongHistogram _beforeInterval = new(HighestTrackableMs, SignificantDigits);
    private long _startedTimestamp = Stopwatch.GetTimestamp();
    private long _intervalStartedTimestamp = Stopwatch.GetTimestamp();
    private Extremes _intervalExtremes = Extremes.None;
    private Extremes _beforeIntervalExtremes = Extremes.None;

    /// <summary>Rows recorded since the start.</summary>
    public long Count
    {
        get
        {
            lock (_gate)
                return _interval.TotalCount + _beforeInterval.TotalCount;
        }
    }

    /// <summary>Records each message's latency as acknowledged at <paramref name="nowMs"/> (Unix milliseconds).</summary>
    public void Record(List<PipelineMessage> messages, long nowMs)
    {
        lock (_gate)
        {
            foreach (var message in messages)
                RecordLocked(nowMs - message.TimestampMs);
        }
    }

    public void Record(ReadOnlySpan<long> latenciesMs)
    {
        lock (_gate)
        {
            foreach (var latency in latenciesMs)
                RecordLocked(latency);
        }
    }

    public void Record(long latencyMs) => Record([latencyMs]);

    /// <summary>Everything recorded since the start.</summary>
    public EndToEndLatencySnapshot Cumulative()
    {
        lock (_gate)
        {
            var total = _beforeInterval.Copy();
            total.Add(_interval);
            return Summarize(total, _beforeIntervalExtremes.With(_intervalExtremes), _startedTimestamp, interval: false);
        }
    }

    /// <summary>What was recorded since the previous call (or the start), and starts a new interval.</summary>
    public EndToEndLatencySnapshot Interval()
    {
        lock (_gate)
        {
            var snapshot = Summarize(_interval, _intervalExtremes, _intervalStartedTimestamp, interval: true);
            _beforeInterval.Add(_interval);
            _beforeIntervalExtremes = _beforeIntervalExtremes.With(_intervalExtremes);
            _interval.Reset();
            _intervalExtremes = Extremes.None;
            _intervalStartedTimestamp = Stopwatch.GetTimestamp();
            return snapshot;
        }
    }

    /// <summary>
    /// Forgets everything recorded so far: the cumulative window and the interval start again now. What a benchmark
    /// calls after its warm-up (POST /latency/reset), so that the cumulative snapshot at the end is exactly its run
    /// while it still reads intervals every second.
    /// </summary>
    public void Reset()
    {
        lock (_gate)
        {
            _interval.Reset();
            _beforeInterval.Reset();
            _intervalExtremes = _beforeIntervalExtremes = Extremes.None;
            _startedTimestamp = _intervalStartedTimestamp = Stopwatch.GetTimestamp();
        }
    }

    private void RecordLocked(long latencyMs)
    {
        var value = Math.Clamp(latencyMs, 0, HighestTrackableMs);
        _interval.RecordValue(value);
        _intervalExtremes = _intervalExtremes.With(value);
    }

    private static EndToEndLatencySnapshot Summarize(HistogramBase histogram, Extremes extremes, long sinceTimestamp, bool interval)
    {
        var count = histogram.TotalCount;
        // A percentile is reported as the top of its bucket, which can lie above the exact maximum.
        long? At(double percentile) => count == 0 ? null : Math.Min(histogram.GetValueAtPercentile(percentile), extremes.Max);
        return new EndToEndLatencySnapshot(count, count == 0 ? null : extremes.Min, At(50), At(90), At(95), At(99), At(99.9),
            count == 0 ? null : extremes.Max, Math.Round(Stopwatch.GetElapsedTime(sinceTimestamp).TotalSeconds, 3), interval, SignificantDigits);
    }

    private readonly record struct Extremes(long Min, long Max)
    {
        public static readonly Extremes None = new(long.MaxValue, long.MinValue);

        public Extremes With(long value) => new(Math.Min(Min, value), Math.Max(Max, value));

        public Extremes With(Extremes other) => new(Math.Min(Min, other.Min), Math.Max(Max, other.Max));
    }
}
