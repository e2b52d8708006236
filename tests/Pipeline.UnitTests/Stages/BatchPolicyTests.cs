using EventPipeline.Stages.Batching;

namespace EventPipeline.Tests.Stages;

public sealed class BatchPolicyTests
{
    private static readonly BatchPolicyInput Idle = new(0, 0, 0);

    [Fact]
    public void Aimd_grows_by_its_step_while_full_batches_insert_fast_and_halves_on_a_slow_or_failed_insert()
    {
        var policy = new AimdBatchSizePolicy(initial: 10_000, min: 1000, max: 30_000, step: 5000, insertLatencyTarget: TimeSpan.FromSeconds(1));
        policy.OnInserted(new BatchInsertOutcome(10_000, 1, 0.2, true, 0));
        Assert.Equal(15_000, policy.NextBatchSize(Idle));
        policy.OnInserted(new BatchInsertOutcome(15_000, 1, 0.2, true, 0));
        policy.OnInserted(new BatchInsertOutcome(20_000, 1, 0.2, true, 0));
        policy.OnInserted(new BatchInsertOutcome(25_000, 1, 0.2, true, 0));
        Assert.Equal(30_000, policy.NextBatchSize(Idle)); // capped at max

        policy.OnInserted(new BatchInsertOutcome(30_000, 1, 1.5, true, 0)); // slow
        Assert.Equal(15_000, policy.NextBatchSize(Idle));
        policy.OnInserted(new BatchInsertOutcome(15_000, 1, 0.1, false, 0)); // failed
        Assert.Equal(7_500, policy.NextBatchSize(Idle));
        for (var i = 0; i < 10; i++)
            policy.OnInserted(new BatchInsertOutcome(100, 1, 0.1, false, 0));
        Assert.Equal(1000, policy.NextBatchSize(Idle)); // floored at min
    }

    [Fact]
    public void Aimd_does_not_grow_on_batches_the_timer_flushed_half_empty()
    {
        var policy = new AimdBatchSizePolicy(initial: 10_000, min: 1000, max: 30_000, step: 5000, insertLatencyTarget: TimeSpan.FromSeconds(1));
        policy.OnInserted(new BatchInsertOutcome(300, 1, 0.01, true, 0));
        Assert.Equal(10_000, policy.NextBatchSize(Idle));
    }

    [Fact]
    public void Aimd_with_a_row_latency_target_halves_when_the_oldest_row_waited_longer_and_grows_otherwise()
    {
        var policy = new AimdBatchSizePolicy(initial: 20_000, min: 1000, max: 30_000, step: 5000, insertLatencyTarget: TimeSpan.FromSeconds(1),
            rowLatencyTarget: TimeSpan.FromMilliseconds(800));
        policy.OnInserted(new BatchInsertOutcome(20_000, 1, 0.1, true, OldestRowAgeSeconds: 0.9)); // fast insert, late rows
        Assert.Equal(10_000, policy.NextBatchSize(Idle));
        policy.OnInserted(new BatchInsertOutcome(10_000, 1, 0.1, true, OldestRowAgeSeconds: 0.5));
        Assert.Equal(15_000, policy.NextBatchSize(Idle));
    }

    [Fact]
    public void Aimd_without_a_row_latency_target_ignores_row_age_as_before()
    {
        var policy = new AimdBatchSizePolicy(initial: 20_000, min: 1000, max: 30_000, step: 5000, insertLatencyTarget: TimeSpan.FromSeconds(1));
        policy.OnInserted(new BatchInsertOutcome(20_000, 1, 0.1, true, OldestRowAgeSeconds: 30));
        Assert.Equal(25_000, policy.NextBatchSize(Idle));
    }

    [Theory]
    [InlineData(50_000.0, 0, 50_000)] // one second of traffic
    [InlineData(500.0, 0, 1000)] // floored
    [InlineData(10_000_000.0, 0, 200_000)] // capped
    [InlineData(0.0, 7000, 7000)] // no rate yet: the backlog
    public void Threshold_fills_a_batch_in_the_target_time_at_the_arrival_rate(double rate, int queued, int expected)
    {
        var policy = new LatencyTargetBatchSizePolicy(min: 1000, max: 200_000, fillTarget: TimeSpan.FromSeconds(1));
        Assert.Equal(expected, policy.NextBatchSize(new BatchPolicyInput(queued, rate, 0)));
    }
}
