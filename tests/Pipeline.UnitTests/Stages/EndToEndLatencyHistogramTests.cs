using Confluent.Kafka;
using EventPipeline.Stages;
using EventPipeline.Stages.Flow;

namespace EventPipeline.Tests.Stages;

public sealed class EndToEndLatencyHistogramTests
{
    /// <summary>The nearest-rank percentile of 1..n, each once: the value ceil(p/100 * n).</summary>
    private static long Exact(double percentile, long n) => (long)Math.Ceiling(percentile / 100 * n);

    [Fact]
    public void Percentiles_of_known_values_are_within_one_percent_and_min_and_max_exact()
    {
        var histogram = new EndToEndLatencyHistogram();
        var values = Enumerable.Range(1, 10_000).Select(v => (long)v).ToArray();
        Random.Shared.Shuffle(values);
        histogram.Record(values);

        var snapshot = histogram.Cumulative();

        Assert.Equal(10_000, snapshot.Count);
        Assert.Equal(1, snapshot.MinMs);
        Assert.Equal(10_000, snapshot.MaxMs);
        foreach (var (percentile, reported) in new[]
                 {
                     (50.0, snapshot.P50Ms), (90.0, snapshot.P90Ms), (95.0, snapshot.P95Ms), (99.0, snapshot.P99Ms), (99.9, snapshot.P999Ms),
                 })
        {
            var exact = Exact(percentile, 10_000);
            Assert.NotNull(reported);
            Assert.InRange(reported.Value, exact * 0.99, exact * 1.01);
        }
        Assert.False(snapshot.Interval);
        Assert.Equal(2, snapshot.SignificantDigits);
    }

    [Fact]
    public void Below_256_ms_every_percentile_is_exact()
    {
        var histogram = new EndToEndLatencyHistogram();
        histogram.Record([.. Enumerable.Range(1, 200).Select(v => (long)v)]);

        var snapshot = histogram.Cumulative();

        Assert.Equal(Exact(50, 200), snapshot.P50Ms);
        Assert.Equal(Exact(90, 200), snapshot.P90Ms);
        Assert.Equal(Exact(99, 200), snapshot.P99Ms);
        Assert.Equal(200, snapshot.P999Ms);
    }

    [Fact]
    public void A_percentile_never_exceeds_the_exact_maximum()
    {
        var histogram = new EndToEndLatencyHistogram();
        histogram.Record(1_234_567); // its bucket spans several ms at this size

        var snapshot = histogram.Cumulative();

        Assert.Equal(1_234_567, snapshot.MaxMs);
        Assert.Equal(1_234_567, snapshot.P99Ms);
        Assert.Equal(1_234_567, snapshot.P50Ms);
    }

    [Fact]
    public void Nothing_recorded_reports_a_count_of_zero_and_no_percentiles()
    {
        var snapshot = new EndToEndLatencyHistogram().Cumulative();

        Assert.Equal(0, snapshot.Count);
        Assert.Null(snapshot.MinMs);
        Assert.Null(snapshot.P99Ms);
        Assert.Null(snapshot.MaxMs);
    }

    [Fact]
    public void An_interval_holds_only_the_rows_since_the_previous_interval_and_the_cumulative_view_holds_all()
    {
        var histogram = new EndToEndLatencyHistogram();
        histogram.Record([5000, 6000]); // a warm-up
        var warmUp = histogram.Interval();
        histogram.Record([10, 20, 30]);

        var measured = histogram.Interval();
        var empty = histogram.Interval();
        var cumulative = histogram.Cumulative();

        Assert.Equal(2, warmUp.Count);
        Assert.True(measured.Interval);
        Assert.Equal(3, measured.Count);
        Assert.Equal(10, measured.MinMs);
        Assert.Equal(30, measured.MaxMs);
        Assert.Equal(20, measured.P50Ms);
        Assert.Equal(0, empty.Count);
        Assert.Equal(5, cumulative.Count);
        Assert.Equal(10, cumulative.MinMs);
        Assert.Equal(6000, cumulative.MaxMs);
        Assert.Equal(5, histogram.Count);
    }

    [Fact]
    public void A_reset_forgets_the_warm_up_in_both_views_and_intervals_go_on_after_it()
    {
        var histogram = new EndToEndLatencyHistogram();
        histogram.Record([5000, 6000]); // a warm-up, partly read as an interval
        _ = histogram.Interval();
        histogram.Record(7000);
        histogram.Reset();
        histogram.Record([10, 20]);
        var second = histogram.Interval();
        histogram.Record(30);

        var run = histogram.Cumulative();
        Assert.Equal(2, second.Count);
        Assert.Equal(3, run.Count);
        Assert.Equal(10, run.MinMs);
        Assert.Equal(30, run.MaxMs);
        Assert.Equal(3, histogram.Count);
    }

    [Fact]
    public void Negative_latencies_count_as_zero_and_latencies_beyond_the_range_as_its_top()
    {
        var histogram = new EndToEndLatencyHistogram();
        histogram.Record([-40, EndToEndLatencyHistogram.HighestTrackableMs * 3]);

        var snapshot = histogram.Cumulative();

        Assert.Equal(0, snapshot.MinMs);
        Assert.Equal(EndToEndLatencyHistogram.HighestTrackableMs, snapshot.MaxMs);
    }

    [Fact]
    public void A_batch_of_messages_is_recorded_as_acknowledgement_time_minus_each_message_timestamp()
    {
        var histogram = new EndToEndLatencyHistogram();
        var lease = new PartitionLease(new TopicPartition("t", 0));
        var messages = new List<PipelineMessage>
        {
            new(lease, 0, lease.Offsets.Register(0), null, [], null, timestampMs: 1_000),
            new(lease, 1, lease.Offsets.Register(1), null, [], null, timestampMs: 1_900),
        };

        histogram.Record(messages, nowMs: 2_000);

        var snapshot = histogram.Cumulative();
        Assert.Equal(2, snapshot.Count);
        Assert.Equal(100, snapshot.MinMs);
        Assert.Equal(1_000, snapshot.MaxMs);
    }

    [Fact]
    public void Concurrent_batches_lose_no_row()
    {
        var histogram = new EndToEndLatencyHistogram();
        var batch = Enumerable.Range(1, 1000).Select(v => (long)v).ToArray();

        Parallel.For(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ => histogram.Record(batch));
        var interval = histogram.Interval();

        Assert.Equal(400_000, interval.Count);
        Assert.Equal(1, interval.MinMs);
        Assert.Equal(1000, interval.MaxMs);
        Assert.InRange(interval.P50Ms!.Value, 495, 505);
    }

    [Fact]
    public void The_json_names_the_fields_in_milliseconds_and_states_the_resolution()
    {
        var histogram = new EndToEndLatencyHistogram();
        histogram.Record(42);

        var json = System.Text.Json.JsonSerializer.Serialize(histogram.Cumulative());

        foreach (var name in new[] { "count", "min_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p99_9_ms", "max_ms", "seconds", "interval", "resolution" })
            Assert.Contains($"\"{name}\":", json);
        Assert.Contains("within 1%", json);
    }
}
