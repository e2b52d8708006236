using System.Threading.Tasks.Dataflow;
using EventPipeline.Stages.Flow;

namespace EventPipeline.Stages.Batching;

/// <summary>
/// What both batch stages share: the bounded input, the arrival-rate meter, and the batch-size policy with what it
/// learns from the sink. <see cref="BatchStage"/> batches for at-least-once, <see cref="PartitionBatchStage"/> in
/// offset ranges for exactly-once; each supplies its own loop.
/// </summary>
public abstract class BatchingStage
{
    private readonly BufferBlock<PipelineMessage[]> _input;
    private readonly RateMeter _arrivals = new();
    private readonly IBatchSizePolicy _policy;
    private double _lastInsertSeconds;
    private double _meanChunkLength = 1;

    protected BatchingStage(BatchStageOptions options, IBatchSizePolicy policy, PipelineMetrics metrics)
    {
        options.Validate();
        Options = options;
        _policy = policy;
        Metrics = metrics;
        _input = new BufferBlock<PipelineMessage[]>(new DataflowBlockOptions { BoundedCapacity = options.BoundedCapacity });
    }

    public ITargetBlock<PipelineMessage[]> Input => _input;

    /// <summary>Chunks queued for the stage.</summary>
    public int QueuedChunks => _input.Count;

    /// <summary>Messages queued for the stage, estimated from the queued chunks and the recent mean chunk length.</summary>
    public int QueuedMessages => (int)Math.Round(_input.Count * Volatile.Read(ref _meanChunkLength));

    /// <summary>Messages per second entering the stage, smoothed.</summary>
    public double ArrivalRatePerSecond => _arrivals.PerSecond;

    public Task Completion { get; private set; } = Task.CompletedTask;

    protected BatchStageOptions Options { get; }
    protected PipelineMetrics Metrics { get; }
    protected BufferBlock<PipelineMessage[]> InputBuffer => _input;

    /// <summary>Starts batching into <paramref name="sink"/>; completes the sink when the input completes.</summary>
    public void Start(ITargetBlock<InsertBatch> sink, ITargetBlock<PipelineMessage> deadLetter) =>
        Completion = Task.Run(() => RunAsync(sink, deadLetter));

    /// <summary>Lets the sink tell the stage how long inserts take now; the policy sees it with the next batch.</summary>
    public void ReportInsert(in BatchInsertOutcome outcome)
    {
        Volatile.Write(ref _lastInsertSeconds, outcome.InsertSeconds);
        _policy.OnInserted(outcome);
    }

    protected abstract Task RunAsync(ITargetBlock<InsertBatch> sink, ITargetBlock<PipelineMessage> deadLetter);

    /// <summary>Counts a chunk taken from the input toward the arrival rate and the mean chunk length.</summary>
    protected void CountArrival(PipelineMessage[] chunk)
    {
        _arrivals.Add(chunk.Length);
        Volatile.Write(ref _meanChunkLength, 0.9 * _meanChunkLength + 0.1 * chunk.Length);
    }

    /// <summary>Asks the policy for the next batch's size, clamped to Batch:MaxSize, and exports it.</summary>
    protected int NextTargetSize()
    {
        var target = Math.Clamp(_policy.NextBatchSize(new BatchPolicyInput(QueuedMessages, _arrivals.PerSecond, Volatile.Read(ref _lastInsertSeconds))),
            1, Options.MaxSize);
        Metrics.BatchTargetSize.Set(target);
        return target;
    }
}
