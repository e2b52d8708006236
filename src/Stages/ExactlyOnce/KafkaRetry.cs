using Confluent.Kafka;
using EventPipeline.Stages.Flow;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Stages.ExactlyOnce;

/// <summary>
/// Retries a blocking client call that fails with a retriable broker error (request timed out, coordinator moving,
/// leader not available) until a deadline. Recovery runs inside the rebalance callback, where an escaping error
/// would leave partitions assigned to this member but never fetched. Paced by the pipeline's <see cref="Backoff"/>;
/// no pause runs past the deadline, and an error after it is thrown. Each call waits at most <see cref="MaxStep"/>
/// (<see cref="Step"/>), so that a stop is noticed within seconds, not after the whole deadline.
/// </summary>
internal static class KafkaRetry
{
    private static readonly TimeSpan InitialPause = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxPause = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan MaxStep = TimeSpan.FromSeconds(3);

    /// <summary>The timeout for one call: what is left before the deadline, between 1 s and <see cref="MaxStep"/>.</summary>
    public static TimeSpan Step(DateTime deadline)
    {
        var left = deadline - DateTime.UtcNow;
        return left < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : left > MaxStep ? MaxStep : left;
    }

    /// <exception cref="OperationCanceledException"><paramref name="stop"/> fired between two attempts.</exception>
    public static T UntilDeadline<T>(Func<T> call, DateTime deadline, ILogger logger, string what, CancellationToken stop = default)
    {
        var backoff = new Backoff(InitialPause, MaxPause);
        for (var attempt = 1; ; attempt++)
        {
            stop.ThrowIfCancellationRequested();
            try
            {
                return call();
            }
            catch (KafkaException ex) when (!ex.Error.IsFatal && DateTime.UtcNow < deadline)
            {
                logger.LogWarning("Reading {What} failed (attempt {Attempt}): {Reason}; retrying", what, attempt, ex.Error.Reason);
                var pause = backoff.NextDelay();
                var left = deadline - DateTime.UtcNow;
                if (left > TimeSpan.Zero)
                    stop.WaitHandle.WaitOne(pause < left ? pause : left);
            }
        }
    }
}
