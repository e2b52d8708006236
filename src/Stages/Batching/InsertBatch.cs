using EventPipeline.Stages.ClickHouse;
using EventPipeline.Stages.Flow;

namespace EventPipeline.Stages.Batching;

/// <summary>
/// Rows already encoded as RowBinary in pooled memory, with the messages they came from so that the sink can
/// release their offsets once ClickHouse acknowledged the insert. The payload is kept until then so that a retry
/// resends exactly the same bytes. The messages' own bytes are parked in <see cref="Originals"/> meanwhile
/// (<see cref="PipelineMessage.Park"/>).
/// </summary>
public sealed class InsertBatch : IDisposable
{
    public InsertBatch(PooledBufferWriter payload, PooledBufferWriter originals, List<PipelineMessage> messages, long startedTimestamp)
    {
        Payload = payload;
        Originals = originals;
        Messages = messages;
        StartedTimestamp = startedTimestamp;
    }

    public PooledBufferWriter Payload { get; }

    /// <summary>The key and value of every message, until the batch is done (a rejected row's dead letter needs them).</summary>
    public PooledBufferWriter Originals { get; }
    public List<PipelineMessage> Messages { get; }

    /// <summary>Stopwatch timestamp of the first row: the batch's own contribution to latency starts here.</summary>
    public long StartedTimestamp { get; }

    public int Count => Messages.Count;

    public void Dispose()
    {
        Payload.Dispose();
        Originals.Dispose();
    }
}
