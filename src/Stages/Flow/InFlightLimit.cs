namespace EventPipeline.Stages.Flow;

/// <summary>
/// Caps the messages a producer stage has handed to its Kafka producer and not yet seen acknowledged, and tells when
/// all of them were: the ack tracking of <see cref="DeadLetterStage"/> and <see cref="TopicProducer"/>. A message
/// holds its permit from <see cref="EnterAsync"/> until <see cref="Exit"/>, through any retries.
/// </summary>
public sealed class InFlightLimit
{
    private readonly int _max;
    private readonly SemaphoreSlim _permits;

    public InFlightLimit(int max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        _max = max;
        _permits = new SemaphoreSlim(max, max);
    }

    /// <summary>Waits for room: backpressure, never a drop.</summary>
    public Task EnterAsync() => _permits.WaitAsync();

    /// <summary>The message was acknowledged (or failed for good).</summary>
    public void Exit() => _permits.Release();

    /// <summary>Completes once every permit is back, i.e. every message that entered has exited.</summary>
    public async Task WhenAllExitedAsync()
    {
        for (var i = 0; i < _max; i++)
            await _permits.WaitAsync().ConfigureAwait(false);
        _permits.Release(_max);
    }
}
