using System.Threading.Tasks.Dataflow;
using EventPipeline.Stages.Flow;

namespace EventPipeline.Stages.Batching;

/// <summary>What the composition root needs of a batch stage: at-least-once <see cref="BatchStage"/> or
/// exactly-once <see cref="PartitionBatchStage"/>.</summary>
public interface IBatchingStage
{
    ITargetBlock<PipelineMessage> Input { get; }
    int QueuedMessages { get; }

    /// <summary>Messages per second entering the stage, smoothed.</summary>
    double ArrivalRatePerSecond { get; }
    Task Completion { get; }

    void Start(ITargetBlock<InsertBatch> sink, ITargetBlock<PipelineMessage> deadLetter);

    void ReportInsert(in BatchInsertOutcome outcome);
}
