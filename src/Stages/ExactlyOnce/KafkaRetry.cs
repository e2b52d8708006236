using Confluent.Kafka;
using EventPipeline.Stages.Flow;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Stages.ExactlyOnce;

/// <summary>
/// Retries a blocking client call that fails with a retriable broker error (request timed out, coordinator moving,
/// leader not available) until a deadline. Recovery runs inside the rebalance callback, where an escaping error
/// would leave partitions assigned to this member but never fetched. Paced by the pipeline's <see cref="Backoff"/>;
/// no pause runs past the deadline, and an error after it is thrown.
/// </summary>
internal static class KafkaRetry
{
    private static readonly TimeSpan InitialPause = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxPause = TimeSpan.FromSeconds(2);

    public static TimeSpan Remaining(DateTime deadline)
    {
        var left = deadline - DateTime.UtcNow;
        return left > TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1);
    }

    public static T UntilDeadline<T>(Func<T> call, DateTime deadline, ILogger logger, string what)
    {
        var backoff = new Backoff(InitialPause, MaxPause);
        for (var attempt = 1; ; attempt++)
        {
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
                    Thread.Sleep(pause < left ? pause : left);
            }
        }
    }
}
