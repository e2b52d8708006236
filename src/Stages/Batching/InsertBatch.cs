using EventPipeline.Stages.ClickHouse;
using EventPipeline.Stages.Flow;

namespace EventPipeline.Stages.Batching;

/// <summary>
/// Rows already encoded as RowBinary in pooled memory, with the messages they came from so that the sink can
/// release their offsets once ClickHouse acknowledged the insert. The payload is kept until then so that a retry
/// resends exactly the same bytes.
/// </summary>
public sealed class InsertBatch : IDisposable
{
    public InsertBatch(PooledBufferWriter payload, List<PipelineMessage> messages, long startedTimestamp)
    {
        Payload = payload;
        Messages = messages;
        StartedTimestamp = startedTimestamp;
    }

    public PooledBufferWriter Payload { get; }
    public List<PipelineMessage> Messages { get; }

    /// <summary>Stopwatch timestamp of the first row: the batch's own contribution to latency starts here.</summary>
    public long StartedTimestamp { get; }

    public int Count => Messages.Count;

    public void Dispose() => Payload.Dispose();
}
