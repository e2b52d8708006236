using System.Diagnostics;
using System.Threading.Tasks.Dataflow;
using EventPipeline.Stages.Events;
using EventPipeline.Stages.Flow;

namespace EventPipeline.Stages;

public sealed record DecodeStageOptions
{
    /// <summary>Messages waiting to be decoded (Pipeline:QueueCapacity).</summary>
    public int BoundedCapacity { get; init; } = 8192;

    /// <summary>Decoder threads (Decode:Parallelism).</summary>
    public int Parallelism { get; init; } = 2;

    public void Validate()
    {
        if (BoundedCapacity < 1)
            throw new ArgumentOutOfRangeException("Pipeline:QueueCapacity", BoundedCapacity, "must be at least 1");
        if (Parallelism < 1)
            throw new ArgumentOutOfRangeException("Decode:Parallelism", Parallelism, "must be at least 1");
    }
}

/// <summary>
/// Stage 2: JSON or Confluent-framed Protobuf bytes to a typed event. A message that cannot be decoded leaves
/// with <see cref="PipelineMessage.Failure"/> set, bound for the dead-letter topic; it never faults the block.
/// Messages the <see cref="CodecDecodeStage"/> already decoded or rejected are not decoded again.
/// </summary>
public sealed class DecodeStage
{
    public const string StageName = "decode";

    // Fixed metric label values, one per DecodeErrorKind, computed once.
    private static readonly string[] KindLabels = Enum.GetNames<DecodeErrorKind>()
        .Select(name => string.Concat(name.Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString())))
        .ToArray();

    private readonly EventDecoder _decoder;
    private readonly Prometheus.Counter.Child _decoded;
    private readonly Prometheus.Counter.Child _rejected;
    private readonly Prometheus.Histogram.Child _duration;

    public DecodeStage(DecodeStageOptions options, EventDecoder decoder, PipelineMetrics metrics)
    {
        options.Validate();
        _decoder = decoder;
        // Resolved once: a label lookup per message costs more than the counter itself.
        _decoded = metrics.StageMessages.WithLabels(StageName, "ok");
        _rejected = metrics.StageMessages.WithLabels(StageName, "dead_letter");
        _duration = metrics.StageDuration.WithLabels(StageName);
        Block = new TransformBlock<PipelineMessage, PipelineMessage>(Decode, new ExecutionDataflowBlockOptions
        {
            BoundedCapacity = options.BoundedCapacity,
            MaxDegreeOfParallelism = options.Parallelism,
            SingleProducerConstrained = true,
        });
    }

    public TransformBlock<PipelineMessage, PipelineMessage> Block { get; }

    /// <summary>
    /// Sends decoded events to <paramref name="batch"/> and failures to <paramref name="deadLetter"/>; with no
    /// dead-letter target, failures go to the batch stage too.
    /// </summary>
    public void LinkTo(ITargetBlock<PipelineMessage> batch, ITargetBlock<PipelineMessage>? deadLetter)
    {
        if (deadLetter is null)
        {
            // Exactly-once: failures stay members of their offset range and the batch stage dead-letters them.
            Block.LinkTo(batch, new DataflowLinkOptions { PropagateCompletion = true });
            return;
        }
        // The two predicates are exhaustive and exclusive: a message matching neither would block the stage forever.
        Block.LinkTo(batch, new DataflowLinkOptions { PropagateCompletion = true }, m => m.Failure is null);
        Block.LinkTo(deadLetter, m => m.Failure is not null);
    }

    private PipelineMessage Decode(PipelineMessage message)
    {
        // Rejected by the codec stage: its reason stands, and it is counted there.
        if (message.Failure is not null)
            return message;
        var started = Stopwatch.GetTimestamp();
        if (message.Event is { } codecDecoded)
        {
            // The codec rebuilt the event but knows nothing of the table: its property columns are filled here.
            if (_decoder.FillPropertyValues(codecDecoded) is { } error)
            {
                message.Event = null;
                Reject(message, error);
            }
            else
                _decoded.Inc();
        }
        else
        {
            var result = _decoder.Decode(message.Value);
            if (result.IsSuccess)
            {
                message.Event = result.Event;
                _decoded.Inc();
            }
            else
                Reject(message, result.Error!.Value);
        }
        _duration.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        return message;
    }

    private void Reject(PipelineMessage message, DecodeError error)
    {
        message.Failure = new DeadLetterReason(StageName, KindLabels[(int)error.Kind], error.Reason);
        _rejected.Inc();
    }
}
