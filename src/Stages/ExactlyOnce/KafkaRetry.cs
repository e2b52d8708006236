using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Stages.ExactlyOnce;

/// <summary>
/// Retries a blocking client call that fails with a retriable broker error (request timed out, coordinator moving,
/// leader not available) until a deadline. Recovery runs inside the rebalance callback, where an escaping error
/// would leave partitions assigned to this member but never fetched.
/// </summary>
internal static class KafkaRetry
{
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(200);

    public static TimeSpan Remaining(DateTime deadline)
    {
        var left = deadline - DateTime.UtcNow;
        return left > TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1);
    }

    public static T UntilDeadline<T>(Func<T> call, DateTime deadline, ILogger logger, string what)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return call();
            }
            catch (KafkaException ex) when (!ex.Error.IsFatal && DateTime.UtcNow + Pause < deadline)
            {
                logger.LogWarning("Reading {What} failed (attempt {Attempt}): {Reason}; retrying", what, attempt, ex.Error.Reason);
                Thread.Sleep(Pause);
            }
        }
    }
}
