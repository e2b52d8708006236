namespace EventPipeline.Stages.Events;

/// <summary>
/// Why a message could not be decoded, in a small fixed set: it is the value of a metric label, so it must
/// never grow with the input. The precise reason goes in <see cref="DecodeError.Reason"/>.
/// </summary>
public enum DecodeErrorKind : byte
{
    /// <summary>Longer than <see cref="EventDecoderOptions.MaxMessageBytes"/>; not parsed at all.</summary>
    Oversize,

    /// <summary>Not well-formed: broken JSON or Protobuf, empty payload, trailing data, duplicate field.</summary>
    Malformed,

    /// <summary>A required field is absent.</summary>
    MissingField,

    /// <summary>A field (or the top level) has the wrong JSON type.</summary>
    WrongType,

    /// <summary>A field has the right type but a value outside its domain (bad UUID, timestamp, platform...).</summary>
    InvalidValue,

    /// <summary>A wire format or Protobuf message type this decoder does not accept.</summary>
    UnsupportedFormat,

    /// <summary>A learned-codec envelope reached a worker that has no codec models (Codec:Models is empty).</summary>
    CodecNotConfigured,

    /// <summary>Confluent-framed Protobuf whose schema id is not in <see cref="EventDecoderOptions.ProtobufSchemaIds"/>.</summary>
    UnknownSchema,
}

/// <param name="Kind">The class of failure, fit for a metric label.</param>
/// <param name="Reason">A short reason that names the field, fit for a dead-letter record.</param>
public readonly record struct DecodeError(DecodeErrorKind Kind, string Reason)
{
    public override string ToString() => $"{Kind}: {Reason}";
}
