using EventPipeline.Stages.Codec;
using EventPipeline.Stages.Events;
using EventPipeline.Stages.Flow;

namespace EventPipeline.Stages;

public sealed record CodecDecodeStageOptions : MicroBatchOptions
{
    /// <summary>Envelopes longer than this are not decoded: DecodeStage rejects them as oversize (Decode:MaxMessageBytes).</summary>
    public int MaxMessageBytes { get; init; } = EventDecoderOptions.DefaultMaxMessageBytes;

    protected override (string BoundedCapacity, string MaxBatchSize, string MaxBatchDelay) Keys =>
        ("Pipeline:QueueCapacity", "Codec:MaxBatchSize", "Codec:MaxBatchDelayMs");

    public override void Validate()
    {
        base.Validate();
        if (MaxMessageBytes < 1)
            throw new ArgumentOutOfRangeException("Decode:MaxMessageBytes", MaxMessageBytes, "must be at least 1");
    }
}

/// <summary>
/// Between the Kafka source and <see cref="DecodeStage"/> when codec models are configured: decodes the learned-codec
/// envelopes of each micro-batch with one <see cref="IEnvelopeDecoder.Decode"/> call and hands the micro-batch on as
/// one chunk, in order. An envelope leaves with its event set, or with a failure (corrupt, unknown model, other format) bound for
/// the dead-letter topic; plain JSON and Protobuf pass through untouched for DecodeStage.
/// </summary>
public sealed class CodecDecodeStage : MicroBatchStage<PipelineMessage[]>
{
    public const string StageName = "codec_decode";

    /// <summary>The stage named in the dead-letter headers of envelopes it rejects.</summary>
    public const string FailureStage = "codec";

    private readonly IEnvelopeDecoder _decoder;
    private readonly int _maxMessageBytes;
    private readonly List<ReadOnlyMemory<byte>> _envelopes = [];
    private readonly List<int> _positions = [];
    private readonly List<long> _recordTimestamps = [];
    private readonly List<byte[]?> _recordKeys = [];
    private EnvelopeDecodeResult[] _results = new EnvelopeDecodeResult[256];
    private readonly Prometheus.Counter.Child _decoded;
    private readonly Prometheus.Counter.Child _rejected;
    private readonly Prometheus.Counter.Child _passedThrough;

    /// <param name="decoder">Not thread-safe: owned by this stage, whose single loop is its only caller.</param>
    public CodecDecodeStage(CodecDecodeStageOptions options, IEnvelopeDecoder decoder, PipelineMetrics metrics)
        : base(StageName, options, metrics)
    {
        _decoder = decoder;
        _maxMessageBytes = options.MaxMessageBytes;
        _decoded = metrics.StageMessages.WithLabels(StageName, "ok");
        _rejected = metrics.StageMessages.WithLabels(StageName, "dead_letter");
        _passedThrough = metrics.StageMessages.WithLabels(StageName, "passed_through");
    }

    protected override IReadOnlyList<PipelineMessage[]> Process(IReadOnlyList<PipelineMessage> batch)
    {
        for (var i = 0; i < batch.Count; i++)
        {
            var message = batch[i];
            if (message.Event is null && message.Failure is null && CodecEnvelope.IsEnvelope(message.Value) && message.Value.Length <= _maxMessageBytes)
            {
                _positions.Add(i);
                _envelopes.Add(message.Value);
                _recordTimestamps.Add(message.TimestampMs);
                _recordKeys.Add(message.Key);
            }
        }
        _passedThrough.Inc(batch.Count - _positions.Count);
        if (_positions.Count == 0)
            return [[.. batch]];

        if (_results.Length < _positions.Count)
            Array.Resize(ref _results, Math.Max(_positions.Count, _results.Length * 2));
        var results = _results.AsSpan(0, _positions.Count);
        _decoder.Decode(_envelopes, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_recordTimestamps), _recordKeys, results);
        for (var j = 0; j < results.Length; j++)
        {
            var message = batch[_positions[j]];
            if (results[j].Event is { } decoded)
            {
                message.Event = decoded;
                _decoded.Inc();
            }
            else
            {
                message.Failure = new DeadLetterReason(FailureStage, results[j].ErrorKind ?? "codec_corrupt", results[j].Reason ?? "the codec gave no reason");
                _rejected.Inc();
            }
        }
        // Keep no references to this batch's payloads and events past it.
        results.Clear();
        _envelopes.Clear();
        _positions.Clear();
        _recordTimestamps.Clear();
        _recordKeys.Clear();
        return [[.. batch]];
    }
}
