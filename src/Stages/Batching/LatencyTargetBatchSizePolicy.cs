namespace EventPipeline.Stages.Batching;

/// <summary>
/// Sizes each batch so that it fills in about the target time at the current arrival rate: one insert per
/// target interval (ClickHouse's advice is about one insert per second per table), bigger batches when traffic
/// is heavy, smaller ones when it is light, so rows never wait much longer than the target.
/// </summary>
public sealed class LatencyTargetBatchSizePolicy : IBatchSizePolicy
{
    private readonly int _min;
    private readonly int _max;
    private readonly double _targetSeconds;

    public LatencyTargetBatchSizePolicy(int min, int max, TimeSpan fillTarget)
    {
        if (min < 1 || max < min)
            throw new ArgumentOutOfRangeException("Batch:MinSize", min, "must be at least 1 and at most Batch:MaxSize");
        if (fillTarget <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException("Batch:TargetLatencyMs", fillTarget, "must be positive");
        _min = min;
        _max = max;
        _targetSeconds = fillTarget.TotalSeconds;
    }

    public string Name => "threshold";

    public int NextBatchSize(in BatchPolicyInput input)
    {
        // Before the first rate estimate, the backlog itself is the best guess.
        var expected = input.ArrivalRatePerSecond > 0 ? input.ArrivalRatePerSecond * _targetSeconds : input.QueuedMessages;
        return (int)Math.Clamp(expected, _min, _max);
    }

    public void OnInserted(in BatchInsertOutcome outcome)
    {
    }
}
