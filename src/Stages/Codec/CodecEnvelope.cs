using EventPipeline.Stages.Events;

namespace EventPipeline.Stages.Codec;

/// <summary>
/// How a learned-codec envelope is recognised on the wire. The first byte can begin neither JSON (whitespace, '{',
/// or a UTF-8 byte order mark 0xEF) nor Confluent framing (0x00), so envelopes, JSON and Protobuf share a topic.
/// </summary>
public static class CodecEnvelope
{
    public const byte Magic = 0xEC;

    /// <summary>The envelope format this build writes and reads (the high nibble of the second byte).</summary>
    public const int FormatVersion = 1;

    /// <summary>The entropy-coded envelope format (rANS under a model's frequency tables, event time against the record timestamp).</summary>
    public const int EntropyFormatVersion = 2;

    /// <summary>Whether this build reads envelopes of <paramref name="version"/>.</summary>
    public static bool IsKnownVersion(int version) => version is FormatVersion or EntropyFormatVersion;

    public static bool IsEnvelope(ReadOnlySpan<byte> payload) => payload.Length >= 2 && payload[0] == Magic;

    /// <summary>
    /// The model id of an envelope (magic, version and mode byte, then the id as a LEB128 varint), for messages
    /// about an envelope that is not decoded; false when the id is cut off or out of range.
    /// </summary>
    public static bool TryReadModelId(ReadOnlySpan<byte> payload, out int modelId)
    {
        modelId = 0;
        if (!IsEnvelope(payload))
            return false;
        for (int i = 2, shift = 0; i < payload.Length && shift <= 14; i++, shift += 7)
        {
            modelId |= (payload[i] & 0x7F) << shift;
            if ((payload[i] & 0x80) == 0)
                return modelId <= ushort.MaxValue;
        }
        return false;
    }
}

/// <summary>The outcome of decoding one envelope: the event, or a dead-letter kind and reason.</summary>
public readonly record struct EnvelopeDecodeResult(AnalyticsEvent? Event, string? ErrorKind, string? Reason)
{
    public static EnvelopeDecodeResult Failure(string kind, string reason) => new(null, kind, reason);
}

/// <summary>Decodes envelopes a batch at a time (one forward pass per batch), whatever model wrote them.</summary>
public interface IEnvelopeDecoder
{
    /// <summary>
    /// Fills <paramref name="results"/>[i] for <paramref name="payloads"/>[i]; never throws for a bad payload.
    /// <paramref name="recordTimestampsMs"/>[i] is the Kafka record timestamp of payload i (format 2 codes the event
    /// time against it), <paramref name="recordKeys"/>[i] its record key (format 2 mode 3 takes app_id from it), or
    /// null where the keys are not known: then a mode-3 envelope is a dead letter that says so.
    /// </summary>
    void Decode(IReadOnlyList<ReadOnlyMemory<byte>> payloads, ReadOnlySpan<long> recordTimestampsMs, IReadOnlyList<byte[]?>? recordKeys,
        Span<EnvelopeDecodeResult> results);

    /// <summary>As above, without record keys.</summary>
    void Decode(IReadOnlyList<ReadOnlyMemory<byte>> payloads, ReadOnlySpan<long> recordTimestampsMs, Span<EnvelopeDecodeResult> results) =>
        Decode(payloads, recordTimestampsMs, null, results);
}

/// <summary>Encodes events a batch at a time with one model.</summary>
public interface IEnvelopeEncoder
{
    /// <summary>The model id written into every envelope.</summary>
    int ModelId { get; }

    /// <summary>Bytes per event the model reached on its held-out events at training: the baseline its drift is measured against.</summary>
    double TrainedBytesPerEvent { get; }

    /// <summary>
    /// Fills <paramref name="envelopes"/>[i] for <paramref name="events"/>[i]; null where an event cannot be coded
    /// exactly (send it uncoded). Envelope i must be produced with <paramref name="recordTimestampsMs"/>[i] as its
    /// Kafka record timestamp (CreateTime): format 2 codes the event time against it.
    /// </summary>
    void Encode(IReadOnlyList<AnalyticsEvent> events, ReadOnlySpan<long> recordTimestampsMs, Span<byte[]?> envelopes);
}
