using EventPipeline.Stages.Events;

namespace EventPipeline.DevTools.Events;

/// <summary>One Kafka message value from <see cref="EventGenerator.Next"/>.</summary>
/// <param name="Payload">The message value: JSON or Confluent-framed Protobuf.</param>
/// <param name="IsMalformed">True when the decoder must reject it.</param>
/// <param name="EventId">The event's id; <see cref="Guid.Empty"/> for malformed messages.</param>
/// <param name="Key">The Kafka key: the app id, or null when the message has none.</param>
/// <param name="Malformation">How the message was broken; null for good messages.</param>
public sealed record GeneratedMessage(byte[] Payload, bool IsMalformed, Guid EventId, string? Key, MalformedKind? Malformation = null);

/// <summary>The ways <see cref="EventGenerator"/> breaks messages, with the decode error each must give.</summary>
public enum MalformedKind
{
    /// <summary>JSON cut short: <see cref="DecodeErrorKind.Malformed"/>.</summary>
    TruncatedJson,

    /// <summary>app_id as a number: <see cref="DecodeErrorKind.WrongType"/>.</summary>
    WrongType,

    /// <summary>No user_id: <see cref="DecodeErrorKind.MissingField"/>.</summary>
    MissingField,

    /// <summary>event_id one character short: <see cref="DecodeErrorKind.InvalidValue"/>.</summary>
    InvalidUuid,

    /// <summary>platform "windows": <see cref="DecodeErrorKind.InvalidValue"/>.</summary>
    UnknownPlatform,

    /// <summary>event_timestamp in 2200: <see cref="DecodeErrorKind.InvalidValue"/>.</summary>
    TimestampOutOfRange,

    /// <summary>event_name twice: <see cref="DecodeErrorKind.Malformed"/>.</summary>
    DuplicateField,

    /// <summary>A second JSON object after the first: <see cref="DecodeErrorKind.Malformed"/>.</summary>
    TrailingGarbage,

    /// <summary>Random bytes that start like neither format: <see cref="DecodeErrorKind.Malformed"/>.</summary>
    RandomBytes,

    /// <summary>
    /// Framed Protobuf whose body ends inside a field: <see cref="DecodeErrorKind.Malformed"/>.
    /// Only when <see cref="EventGeneratorOptions.ProtobufFraction"/> is above 0.
    /// </summary>
    BadProtobuf,

    /// <summary>
    /// Framed Protobuf naming message index [1]: <see cref="DecodeErrorKind.UnsupportedFormat"/>.
    /// Only when <see cref="EventGeneratorOptions.ProtobufFraction"/> is above 0.
    /// </summary>
    UnknownMessageIndex,

    /// <summary>
    /// Longer than <see cref="EventGeneratorOptions.OversizePayloadBytes"/>: <see cref="DecodeErrorKind.Oversize"/>.
    /// Only when that option is above 0.
    /// </summary>
    Oversize,
}
