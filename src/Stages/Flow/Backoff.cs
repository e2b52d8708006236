namespace EventPipeline.Stages.Flow;

/// <summary>
/// Exponential backoff with full jitter, the one retry pacing of the pipeline: each delay is uniform in [0, ceiling),
/// and the ceiling doubles per attempt up to a maximum, so many workers retrying one server spread out instead of
/// arriving together. Not thread-safe: one instance per retry loop.
/// </summary>
public sealed class Backoff
{
    private readonly TimeSpan _initial;
    private readonly TimeSpan _max;
    private TimeSpan _ceiling;

    public Backoff(TimeSpan initial, TimeSpan max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(initial, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, initial);
        _initial = _ceiling = initial;
        _max = max;
    }

    public TimeSpan NextDelay()
    {
        var delay = TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * _ceiling.Ticks));
        _ceiling = TimeSpan.FromTicks(Math.Min(_ceiling.Ticks * 2, _max.Ticks));
        return delay;
    }

    /// <summary>Waits the next delay; throws <see cref="OperationCanceledException"/> when cancelled.</summary>
    public Task DelayAsync(CancellationToken cancellationToken) => Task.Delay(NextDelay(), cancellationToken);

    public void Reset() => _ceiling = _initial;
}
