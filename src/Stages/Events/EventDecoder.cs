using EventPipeline.Stages.Codec;

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
    private readonly System.Collections.Frozen.FrozenSet<int>? _schemaIds;

    public EventDecoder(EventDecoderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _maxMessageBytes = options.MaxMessageBytes;
        _acceptProtobuf = options.AcceptConfluentProtobuf;
        _columns = options.PropertyColumns.Count == 0 ? null : new PropertyColumnSet(options.PropertyColumns);
        _schemaIds = options.ProtobufSchemaIds.Count == 0 ? null : System.Collections.Frozen.FrozenSet.ToFrozenSet(options.ProtobufSchemaIds);
        Options = options with { PropertyColumns = [.. options.PropertyColumns], ProtobufSchemaIds = [.. options.ProtobufSchemaIds] };
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

        if (CodecEnvelope.IsEnvelope(payload))
        {
            // Envelopes are decoded by the codec stage before this one; one that gets here found no codec to read it.
            string model = CodecEnvelope.TryReadModelId(payload, out int modelId) ? modelId.ToString(System.Globalization.CultureInfo.InvariantCulture) : "unreadable id";
            return DecodeResult.Failure(
                DecodeErrorKind.CodecNotConfigured, $"a learned-codec envelope (model {model}) but no Codec:Models are configured");
        }

        if (payload[0] != ConfluentProtobufFraming.MagicByte)
        {
            return JsonEventReader.Read(payload, _columns);
        }

        if (!_acceptProtobuf)
        {
            return DecodeResult.Failure(DecodeErrorKind.UnsupportedFormat, "Confluent Protobuf framing is not accepted");
        }

        // A header too short to hold the id is left to the reader, which calls it malformed.
        if (_schemaIds is not null && payload.Length >= 5)
        {
            int schemaId = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(payload[1..5]);
            if (!_schemaIds.Contains(schemaId))
            {
                return DecodeResult.Failure(
                    DecodeErrorKind.UnknownSchema, $"Protobuf schema id {schemaId} is not in Decode:ProtobufSchemaIds");
            }
        }

        return ProtobufEventReader.Read(payload, _columns);
    }

    /// <summary>
    /// Fills <see cref="AnalyticsEvent.PropertyValues"/> from <see cref="AnalyticsEvent.PropertiesJson"/> for an event
    /// decoded elsewhere (the learned codec rebuilds events without knowing the table's property columns).
    /// </summary>
    /// <returns>Why the properties cannot be mapped to the columns, or null.</returns>
    public DecodeError? FillPropertyValues(AnalyticsEvent evt)
    {
        ArgumentNullException.ThrowIfNull(evt);
        if (_columns is null)
        {
            return null;
        }

        evt.PropertyValues = new FieldValue[_columns.Count];
        return evt.PropertiesJson is null ? null : PropertiesReader.ReadText(evt.PropertiesJson, "properties", _columns, evt);
    }
}
