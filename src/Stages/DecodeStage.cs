using System.Diagnostics;
using System.Threading.Tasks.Dataflow;
using EventPipeline.Stages.Events;
using EventPipeline.Stages.Flow;

namespace EventPipeline.Stages;

public sealed record DecodeStageOptions
{
    /// <summary>Chunks of messages waiting to be decoded (Pipeline:QueueCapacity / Pipeline:MaxChunkSize).</summary>
    public int BoundedCapacity { get; init; } = 16;

    /// <summary>Chunks decoded at once (Decode:Parallelism).</summary>
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
/// Stage 2: JSON or Confluent-framed Protobuf bytes to a typed event, a chunk of messages at a time (chunks leave in
/// the order they came). A message that cannot be decoded gets <see cref="PipelineMessage.Failure"/>, bound for the
/// dead-letter topic; it never faults the block. Messages the <see cref="CodecDecodeStage"/> already decoded or
/// rejected are not decoded again.
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
    private ITargetBlock<PipelineMessage>? _deadLetter;

    public DecodeStage(DecodeStageOptions options, EventDecoder decoder, PipelineMetrics metrics)
    {
        options.Validate();
        _decoder = decoder;
        // Resolved once: a label lookup per message costs more than the counter itself.
        _decoded = metrics.StageMessages.WithLabels(StageName, "ok");
        _rejected = metrics.StageMessages.WithLabels(StageName, "dead_letter");
        _duration = metrics.StageDuration.WithLabels(StageName);
        Block = new TransformManyBlock<PipelineMessage[], PipelineMessage[]>(DecodeAsync, new ExecutionDataflowBlockOptions
        {
            BoundedCapacity = options.BoundedCapacity,
            MaxDegreeOfParallelism = options.Parallelism,
            SingleProducerConstrained = true,
        });
    }

    public TransformManyBlock<PipelineMessage[], PipelineMessage[]> Block { get; }

    /// <summary>
    /// Sends decoded events to <paramref name="batch"/> and failures to <paramref name="deadLetter"/>; with no
    /// dead-letter target, failures stay in their chunk and go to the batch stage too.
    /// </summary>
    public void LinkTo(ITargetBlock<PipelineMessage[]> batch, ITargetBlock<PipelineMessage>? deadLetter)
    {
        // Exactly-once passes no dead-letter target: failures stay members of their offset range and the batch stage
        // dead-letters them.
        _deadLetter = deadLetter;
        Block.LinkTo(batch, new DataflowLinkOptions { PropagateCompletion = true });
    }

    private async Task<IEnumerable<PipelineMessage[]>> DecodeAsync(PipelineMessage[] chunk)
    {
        var started = Stopwatch.GetTimestamp();
        var failed = 0;
        foreach (var message in chunk)
        {
            if (!Decode(message))
                failed++;
        }
        _decoded.Inc(chunk.Length - failed);
        _duration.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        if (failed == 0 || _deadLetter is not { } deadLetter)
            return [chunk];

        var decoded = new PipelineMessage[chunk.Length - failed];
        var next = 0;
        foreach (var message in chunk)
        {
            if (message.Failure is null)
                decoded[next++] = message;
            else if (!await deadLetter.SendAsync(message).ConfigureAwait(false))
                throw new DownstreamStoppedException("The dead-letter stage stopped accepting messages");
        }
        return decoded.Length > 0 ? [decoded] : [];
    }

    /// <returns>False when the message is bound for the dead letter (rejected here or by the codec stage).</returns>
    private bool Decode(PipelineMessage message)
    {
        // Rejected by the codec stage: its reason stands, and it is counted there.
        if (message.Failure is not null)
            return false;
        if (message.Event is { } codecDecoded)
        {
            // The codec rebuilt the event but knows nothing of the table: its property columns are filled here.
            if (_decoder.FillPropertyValues(codecDecoded) is not { } error)
                return true;
            message.Event = null;
            Reject(message, error);
            return false;
        }
        var result = _decoder.Decode(message.Value);
        if (result.IsSuccess)
        {
            message.Event = result.Event;
            return true;
        }
        Reject(message, result.Error!.Value);
        return false;
    }

    private void Reject(PipelineMessage message, DecodeError error)
    {
        message.Failure = new DeadLetterReason(StageName, KindLabels[(int)error.Kind], error.Reason);
        _rejected.Inc();
    }
}
