namespace EventPipeline.Stages.Events;

/// <summary>
/// Turns a Kafka message value into an <see cref="AnalyticsEvent"/>, or into a <see cref="DecodeError"/> that
/// names the reason. A payload starting with 0x00 is Confluent Protobuf wire format; anything else is read as
/// JSON. Holds no mutable state: one instance may serve any number of threads.
/// </summary>
public sealed class EventDecoder
{
    private readonly int _maxMessageBytes;
    private readonly bool _acceptProtobuf;
    private readonly PropertyColumnSet? _columns;

    public EventDecoder(EventDecoderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _maxMessageBytes = options.MaxMessageBytes;
        _acceptProtobuf = options.AcceptConfluentProtobuf;
        _columns = options.PropertyColumns.Count == 0 ? null : new PropertyColumnSet(options.PropertyColumns);
        Options = options with { PropertyColumns = [.. options.PropertyColumns] };
    }

    /// <summary>A private copy of the options the decoder was built with.</summary>
    public EventDecoderOptions Options { get; }

    public DecodeResult Decode(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > _maxMessageBytes)
        {
            return DecodeResult.Failure(
                DecodeErrorKind.Oversize, $"payload of {payload.Length} bytes exceeds the limit of {_maxMessageBytes}");
        }

        if (payload.IsEmpty)
        {
            return DecodeResult.Failure(DecodeErrorKind.Malformed, "empty payload");
        }

        if (payload[0] != ConfluentProtobufFraming.MagicByte)
        {
            return JsonEventReader.Read(payload, _columns);
        }

        return _acceptProtobuf
            ? ProtobufEventReader.Read(payload, _columns)
            : DecodeResult.Failure(DecodeErrorKind.UnsupportedFormat, "Confluent Protobuf framing is not accepted");
    }
}
