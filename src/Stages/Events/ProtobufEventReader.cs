using Google.Protobuf;
using ProtoEvent = EventPipeline.Stages.Proto.AnalyticsEvent;
using ProtoPlatform = EventPipeline.Stages.Proto.Platform;

namespace EventPipeline.Stages.Events;

/// <summary>
/// The Protobuf form of an event behind Confluent's framing, held to the same rules as the JSON form.
/// proto3 cannot tell an absent field from an empty one, so an empty required field counts as missing.
/// </summary>
internal static class ProtobufEventReader
{
    private const int MaxMessageIndexDepth = 8;

    public static DecodeResult Read(ReadOnlySpan<byte> payload, PropertyColumnSet? columns)
    {
        Span<int> indexes = stackalloc int[MaxMessageIndexDepth];
        if (!ConfluentProtobufFraming.TryReadHeader(payload, out _, indexes, out int count, out int headerLength, out string? headerError))
        {
            return DecodeResult.Failure(DecodeErrorKind.Malformed, headerError);
        }

        // The schema id is not checked: every registered version has AnalyticsEvent as its first message,
        // and Protobuf's field numbering keeps the versions readable by this one.
        if (count != 1 || indexes[0] != 0)
        {
            return DecodeResult.Failure(
                DecodeErrorKind.UnsupportedFormat,
                $"Protobuf message index [{string.Join(", ", indexes[..count].ToArray())}] is not AnalyticsEvent (index [0])");
        }

        ProtoEvent message;
        try
        {
            message = ProtoEvent.Parser.ParseFrom(payload[headerLength..]);
        }
        catch (InvalidProtocolBufferException ex)
        {
            return DecodeResult.Failure(DecodeErrorKind.Malformed, $"invalid Protobuf body: {FirstSentence(ex.Message)}");
        }

        return Convert(message, columns);
    }

    private static DecodeResult Convert(ProtoEvent message, PropertyColumnSet? columns)
    {
        if (FirstMissing(message) is { } missing)
        {
            return DecodeResult.Failure(DecodeErrorKind.MissingField, $"missing required field {missing}");
        }

        if (!EventFieldRules.TryParseUuid(message.EventId, out Guid eventId))
        {
            return Invalid("event_id: invalid UUID");
        }

        if (eventId == Guid.Empty)
        {
            return Invalid("event_id: nil UUID");
        }

        if (!EventFieldRules.IsTimestampInRange(message.EventTimestampMs))
        {
            return Invalid("event_timestamp_ms: outside 1970..2105");
        }

        if (EventFieldRules.ImplausibleEpochNumber("event_timestamp_ms", message.EventTimestampMs) is { } implausible)
        {
            return Invalid(implausible);
        }

        string? platform = message.Platform switch
        {
            ProtoPlatform.Ios => EventFieldRules.Ios,
            ProtoPlatform.Android => EventFieldRules.Android,
            _ => null,
        };
        if (platform is null)
        {
            return Invalid($"platform: unknown enum value {(int)message.Platform}");
        }

        string country = "";
        if (message.Country.Length > 0)
        {
            string? normalized = EventFieldRules.NormalizeCountry(message.Country);
            if (normalized is null)
            {
                return Invalid("country: not an ISO 3166-1 alpha-2 code");
            }

            country = normalized;
        }

        if (message.HasRevenue && !double.IsFinite(message.Revenue))
        {
            return Invalid("revenue: not a finite number");
        }

        var evt = new AnalyticsEvent
        {
            EventId = eventId,
            AppId = message.AppId,
            UserId = message.UserId,
            EventName = message.EventName,
            EventTimestampMs = message.EventTimestampMs,
            DeviceId = message.DeviceId,
            Platform = platform,
            OsVersion = message.OsVersion,
            AppVersion = message.AppVersion,
            Country = country,
            Revenue = message.HasRevenue ? message.Revenue : null,
            PropertyValues = columns is null ? null : new FieldValue[columns.Count],
        };

        if (message.PropertiesJson.Length > 0 && PropertiesReader.ReadText(message.PropertiesJson, "properties_json", columns, evt) is { } error)
        {
            return error;
        }

        return DecodeResult.Success(evt);
    }

    private static string? FirstMissing(ProtoEvent message) =>
        message.EventId.Length == 0 ? "event_id"
        : message.AppId.Length == 0 ? "app_id"
        : message.UserId.Length == 0 ? "user_id"
        : message.EventName.Length == 0 ? "event_name"
        : message.EventTimestampMs == 0 ? "event_timestamp_ms"
        : message.DeviceId.Length == 0 ? "device_id"
        : message.Platform == ProtoPlatform.Unspecified ? "platform"
        : null;

    private static DecodeResult Invalid(string reason) => DecodeResult.Failure(DecodeErrorKind.InvalidValue, reason);

    private static string FirstSentence(string message)
    {
        int end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message : message[..(end + 1)];
    }
}
