namespace EventPipeline.Stages.Batching;

/// <summary>What a policy sees when the batch stage starts a new batch.</summary>
/// <param name="QueuedMessages">Messages waiting in the batch stage's input.</param>
/// <param name="ArrivalRatePerSecond">Messages per second entering the batch stage, smoothed.</param>
/// <param name="LastInsertSeconds">Duration of the most recent insert, 0 before the first.</param>
public readonly record struct BatchPolicyInput(int QueuedMessages, double ArrivalRatePerSecond, double LastInsertSeconds);

/// <summary>What the sink reports after each insert attempt that finished (successfully or not).</summary>
public readonly record struct BatchInsertOutcome(int Rows, long Bytes, double InsertSeconds, bool Succeeded, double OldestRowAgeSeconds);

/// <summary>
/// Decides how many rows the next insert batch should hold. The batch stage still flushes earlier when the
/// oldest row reaches Batch:MaxLatency, so a policy trades insert efficiency against latency only up to that bound.
/// Implementations must be thread-safe: the sink reports outcomes from its insert tasks.
/// </summary>
public interface IBatchSizePolicy
{
    /// <summary>A short name for logs and the decision-source metric label.</summary>
    string Name { get; }

    int NextBatchSize(in BatchPolicyInput input);

    void OnInserted(in BatchInsertOutcome outcome);
}
