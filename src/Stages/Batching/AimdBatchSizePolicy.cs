namespace EventPipeline.Stages.Batching;

/// <summary>
/// Additive increase, multiplicative decrease: grows the batch by a fixed step while inserts succeed within the
/// latency target, halves it when an insert is slow or fails, or (when a row latency target is set) when the oldest
/// row of an acknowledged batch waited longer than that since it was produced. The classic congestion controller,
/// and a strong baseline for any learned policy.
/// </summary>
/// <remarks>
/// An insert slower than 1 s never happened in the batching bench, so the insert-time signal alone never backs off;
/// produce->acknowledged latency over a target does occur (backlog, a slow server, batches that wait to fill), which
/// is why the row latency target exists. It is off (null) unless configured, so the default behaviour is unchanged.
/// </remarks>
public sealed class AimdBatchSizePolicy : IBatchSizePolicy
{
    private readonly object _gate = new();
    private readonly int _min;
    private readonly int _max;
    private readonly int _step;
    private readonly double _targetSeconds;
    private readonly double _rowLatencyTargetSeconds;
    private int _size;

    /// <param name="rowLatencyTarget">Halve when the oldest row of a batch was acknowledged later than this after it was
    /// produced (<see cref="BatchInsertOutcome.OldestRowAgeSeconds"/>); null: insert time and failures only.</param>
    public AimdBatchSizePolicy(int initial, int min, int max, int step, TimeSpan insertLatencyTarget, TimeSpan? rowLatencyTarget = null)
    {
        if (min < 1 || max < min)
            throw new ArgumentOutOfRangeException("Batch:MinSize", min, "must be at least 1 and at most Batch:MaxSize");
        if (step < 1)
            throw new ArgumentOutOfRangeException("Batch:AimdStep", step, "must be at least 1");
        if (insertLatencyTarget <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException("Batch:TargetLatencyMs", insertLatencyTarget, "must be positive");
        if (rowLatencyTarget <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException("Batch:AimdRowLatencyTargetMs", rowLatencyTarget, "must be positive when set");
        _rowLatencyTargetSeconds = rowLatencyTarget?.TotalSeconds ?? double.PositiveInfinity;
        _min = min;
        _max = max;
        _step = step;
        _targetSeconds = insertLatencyTarget.TotalSeconds;
        _size = Math.Clamp(initial, min, max);
    }

    public string Name => "aimd";

    public int Size
    {
        get { lock (_gate) return _size; }
    }

    public int NextBatchSize(in BatchPolicyInput input)
    {
        lock (_gate)
            return _size;
    }

    public void OnInserted(in BatchInsertOutcome outcome)
    {
        lock (_gate)
        {
            if (!outcome.Succeeded || outcome.InsertSeconds > _targetSeconds || outcome.OldestRowAgeSeconds > _rowLatencyTargetSeconds)
                _size = Math.Max(_min, _size / 2);
            else if (outcome.Rows >= _size / 2)
                _size = Math.Min(_max, _size + _step); // grow only when batches actually fill: a timer flush says nothing
        }
    }
}
