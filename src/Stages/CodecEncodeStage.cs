using EventPipeline.Stages.Codec;
using EventPipeline.Stages.Events;
using EventPipeline.Stages.Flow;

namespace EventPipeline.Stages;

public sealed record CodecEncodeStageOptions : MicroBatchOptions
{
    protected override (string BoundedCapacity, string MaxBatchSize, string MaxBatchDelay) Keys =>
        ("--queue-capacity", "--max-batch-size", "--max-batch-delay-ms");
}

/// <summary>A decoded event on its way to the topic: its envelope, or its canonical JSON when the model cannot code it.</summary>
/// <param name="Source">The message the event came from (its offset is released once this one is acknowledged).</param>
/// <param name="RecordTimestampMs">The record timestamp (CreateTime) to produce it with: the envelope codes the event time against it.</param>
public sealed record EncodedMessage(PipelineMessage Source, byte[] Payload, bool Coded, long RecordTimestampMs);

/// <summary>
/// The producer side of the learned codec: encodes the decoded events of each micro-batch with one
/// <see cref="IEnvelopeEncoder.Encode"/> call (one forward pass) and hands them on in order. An event the model
/// cannot code exactly goes out as its canonical JSON (<see cref="EventJsonWriter"/>), which every consumer
/// reads, with or without the codec.
/// </summary>
public sealed class CodecEncodeStage : MicroBatchStage<EncodedMessage>
{
    public const string StageName = "codec_encode";

    private readonly IEnvelopeEncoder _encoder;
    private readonly List<AnalyticsEvent> _events = [];
    private byte[]?[] _envelopes = new byte[]?[256];
    private long[] _recordTimestamps = new long[256];
    private readonly Prometheus.Counter.Child _coded;
    private readonly Prometheus.Counter.Child _uncoded;
    private readonly Prometheus.Counter.Child _bytesIn;
    private readonly Prometheus.Counter.Child _bytesOut;
    private readonly Prometheus.Counter.Child _envelopesWritten;
    private readonly Prometheus.Counter.Child _envelopeBytes;

    /// <param name="encoder">Not thread-safe: owned by this stage, whose single loop is its only caller.</param>
    public CodecEncodeStage(CodecEncodeStageOptions options, IEnvelopeEncoder encoder, PipelineMetrics metrics)
        : base(StageName, options, metrics)
    {
        _encoder = encoder;
        _coded = metrics.StageMessages.WithLabels(StageName, "coded");
        _uncoded = metrics.StageMessages.WithLabels(StageName, "uncoded");
        _bytesIn = metrics.CodecBytes.WithLabels(StageName, "in");
        _bytesOut = metrics.CodecBytes.WithLabels(StageName, "out");
        var model = encoder.ModelId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _envelopesWritten = metrics.CodecEnvelopes.WithLabels(StageName, model);
        _envelopeBytes = metrics.CodecEnvelopeBytes.WithLabels(StageName, model);
        metrics.CodecTrainedBytesPerEvent.WithLabels(model).Set(encoder.TrainedBytesPerEvent);
    }

    /// <remarks>Every message must carry its decoded event: route decode failures elsewhere first.</remarks>
    protected override IReadOnlyList<EncodedMessage> Process(IReadOnlyList<PipelineMessage> batch)
    {
        foreach (var message in batch)
            _events.Add(message.Event ?? throw new ArgumentException($"{message.Coordinates} reached the encode stage without a decoded event"));
        if (_envelopes.Length < batch.Count)
        {
            Array.Resize(ref _envelopes, Math.Max(batch.Count, _envelopes.Length * 2));
            Array.Resize(ref _recordTimestamps, _envelopes.Length);
        }
        var envelopes = _envelopes.AsSpan(0, batch.Count);
        // The source's timestamp (its Kafka record's, or when the line was read) becomes the new record's CreateTime.
        var recordTimestamps = _recordTimestamps.AsSpan(0, batch.Count);
        for (var i = 0; i < batch.Count; i++)
            recordTimestamps[i] = batch[i].TimestampMs;
        _encoder.Encode(_events, recordTimestamps, envelopes);

        var output = new EncodedMessage[batch.Count];
        long bytesIn = 0, bytesOut = 0, envelopeCount = 0, envelopeBytes = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            if (envelopes[i] is { } envelope)
            {
                output[i] = new EncodedMessage(batch[i], envelope, Coded: true, recordTimestamps[i]);
                _coded.Inc();
                envelopeCount++;
                envelopeBytes += envelope.Length;
            }
            else
            {
                output[i] = new EncodedMessage(batch[i], EventJsonWriter.Write(_events[i]), Coded: false, recordTimestamps[i]);
                _uncoded.Inc();
            }
            bytesIn += batch[i].Value.Length;
            bytesOut += output[i].Payload.Length;
        }
        // One atomic add per batch rather than two per event.
        _bytesIn.Inc(bytesIn);
        _bytesOut.Inc(bytesOut);
        _envelopesWritten.Inc(envelopeCount);
        _envelopeBytes.Inc(envelopeBytes);
        envelopes.Clear();
        _events.Clear();
        return output;
    }
}
