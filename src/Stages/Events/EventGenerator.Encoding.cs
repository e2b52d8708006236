using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using ProtoEvent = EventPipeline.Stages.Proto.AnalyticsEvent;
using ProtoPlatform = EventPipeline.Stages.Proto.Platform;

namespace EventPipeline.Stages.Events;

/// <summary>How <see cref="EventGenerator.ToJson"/> writes event_timestamp.</summary>
public enum JsonTimestampFormat
{
    /// <summary>A JSON number: 1718000000000.</summary>
    EpochMillis,

    /// <summary>A JSON string of digits: "1718000000000".</summary>
    EpochMillisString,

    /// <summary>"2024-06-10T06:13:20.000Z", or with a numeric offset such as +05:30.</summary>
    Iso8601,
}

public sealed partial class EventGenerator
{
    // Includes half- and three-quarter-hour zones (India, Nepal, Marquesas), where offset arithmetic goes wrong.
    private static readonly int[] UtcOffsetsMinutes = [330, 345, -570, -420, -180, 60, 540];

    private static readonly long Year2200Ms = new DateTimeOffset(2200, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    /// <summary>The JSON form the decoder reads; <paramref name="utcOffsetMinutes"/> applies to ISO 8601 only.</summary>
    public static byte[] ToJson(AnalyticsEvent evt, JsonTimestampFormat format = JsonTimestampFormat.EpochMillis, int utcOffsetMinutes = 0)
    {
        ArgumentNullException.ThrowIfNull(evt);
        return WriteJson(evt, format, utcOffsetMinutes, malformation: null);
    }

    /// <summary>Protobuf behind a Confluent header with message index [0], as Confluent's serializer writes it.</summary>
    public static byte[] ToProtobufFramed(AnalyticsEvent evt, int schemaId = 1)
    {
        ArgumentNullException.ThrowIfNull(evt);
        return ToProtobufFramed(evt, schemaId, [0]);
    }

    private byte[] WriteJson(AnalyticsEvent evt, MalformedKind? malformation)
    {
        double roll = _random.NextDouble();
        JsonTimestampFormat format = roll < 0.4 ? JsonTimestampFormat.EpochMillis
            : roll < 0.5 ? JsonTimestampFormat.EpochMillisString
            : JsonTimestampFormat.Iso8601;
        int offset = format == JsonTimestampFormat.Iso8601 && _random.Next(3) == 0 ? UtcOffsetsMinutes[_random.Next(UtcOffsetsMinutes.Length)] : 0;
        return WriteJson(evt, format, offset, malformation);
    }

    private GeneratedMessage NextMalformed(MalformedKind kind)
    {
        AnalyticsEvent evt = NextEvent();
        byte[] payload;
        switch (kind)
        {
            case MalformedKind.TruncatedJson:
                byte[] json = WriteJson(evt, malformation: null);
                payload = json[.._random.Next(1, json.Length - 1)];
                break;
            case MalformedKind.TrailingGarbage:
                // A stray closing brace, as string-built JSON tends to leave behind.
                payload = [.. WriteJson(evt, malformation: null), (byte)'}'];
                break;
            case MalformedKind.RandomBytes:
                payload = new byte[_random.Next(8, 200)];
                _random.NextBytes(payload);

                // Neither 0x00 (Protobuf), JSON whitespace or '{', 0xEC (a learned-codec envelope) nor 0xEF (a UTF-8
                // byte order mark): random bytes must read as malformed JSON.
                int first = _random.Next(0x80, 0xEE);
                payload[0] = (byte)(first >= Codec.CodecEnvelope.Magic ? first + 1 : first);
                break;
            case MalformedKind.BadProtobuf:
                // Field 1 claims 100 bytes that never come.
                payload = [.. ToProtobufFramed(evt, Options.SchemaId, [0]), 0x0A, 100];
                break;
            case MalformedKind.UnknownMessageIndex:
                payload = ToProtobufFramed(evt, Options.SchemaId, [1]);
                break;
            case MalformedKind.Oversize:
                evt.PropertiesJson = $"{{\"padding\":\"{new string('x', Options.OversizePayloadBytes)}\"}}";
                payload = WriteJson(evt, malformation: null);
                break;
            default:
                payload = WriteJson(evt, kind);
                break;
        }

        return new GeneratedMessage(payload, IsMalformed: true, Guid.Empty, kind == MalformedKind.RandomBytes ? null : evt.AppId, kind);
    }

    private static byte[] WriteJson(AnalyticsEvent evt, JsonTimestampFormat format, int utcOffsetMinutes, MalformedKind? malformation)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            string eventId = evt.EventId.ToString("D");
            w.WriteString("event_id", malformation == MalformedKind.InvalidUuid ? eventId[..^1] : eventId);
            if (malformation == MalformedKind.WrongType)
            {
                w.WriteNumber("app_id", 12345);
            }
            else
            {
                w.WriteString("app_id", evt.AppId);
            }

            if (malformation != MalformedKind.MissingField)
            {
                w.WriteString("user_id", evt.UserId);
            }

            w.WriteString("event_name", evt.EventName);
            if (malformation == MalformedKind.DuplicateField)
            {
                w.WriteString("event_name", evt.EventName);
            }

            WriteTimestamp(w, malformation == MalformedKind.TimestampOutOfRange ? Year2200Ms : evt.EventTimestampMs, format, utcOffsetMinutes);
            w.WriteString("device_id", evt.DeviceId);
            w.WriteString("platform", malformation == MalformedKind.UnknownPlatform ? "windows" : evt.Platform);
            w.WriteString("os_version", evt.OsVersion);
            w.WriteString("app_version", evt.AppVersion);
            w.WriteString("country", evt.Country);
            if (evt.Revenue is { } revenue)
            {
                w.WriteNumber("revenue", revenue);
            }

            if (evt.PropertiesJson is { } properties)
            {
                w.WritePropertyName("properties");
                w.WriteRawValue(properties);
            }

            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteTimestamp(Utf8JsonWriter w, long epochMs, JsonTimestampFormat format, int utcOffsetMinutes)
    {
        switch (format)
        {
            case JsonTimestampFormat.EpochMillis:
                w.WriteNumber("event_timestamp", epochMs);
                break;
            case JsonTimestampFormat.EpochMillisString:
                w.WriteString("event_timestamp", epochMs.ToString(CultureInfo.InvariantCulture));
                break;
            default:
                DateTimeOffset time = DateTimeOffset.FromUnixTimeMilliseconds(epochMs).ToOffset(TimeSpan.FromMinutes(utcOffsetMinutes));
                string pattern = utcOffsetMinutes == 0 ? "yyyy-MM-dd'T'HH:mm:ss.fff'Z'" : "yyyy-MM-dd'T'HH:mm:ss.fffzzz";
                w.WriteString("event_timestamp", time.ToString(pattern, CultureInfo.InvariantCulture));
                break;
        }
    }

    private static byte[] ToProtobufFramed(AnalyticsEvent evt, int schemaId, ReadOnlySpan<int> messageIndexes)
    {
        var message = new ProtoEvent
        {
            EventId = evt.EventId.ToString("D"),
            AppId = evt.AppId,
            UserId = evt.UserId,
            EventName = evt.EventName,
            EventTimestampMs = evt.EventTimestampMs,
            DeviceId = evt.DeviceId,
            Platform = evt.Platform switch
            {
                EventFieldRules.Ios => ProtoPlatform.Ios,
                EventFieldRules.Android => ProtoPlatform.Android,
                _ => ProtoPlatform.Unspecified,
            },
            OsVersion = evt.OsVersion,
            AppVersion = evt.AppVersion,
            Country = evt.Country,
            PropertiesJson = evt.PropertiesJson ?? "",
        };
        if (evt.Revenue is { } revenue)
        {
            message.Revenue = revenue;
        }

        var buffer = new ArrayBufferWriter<byte>(ConfluentProtobufFraming.MinHeaderLength + message.CalculateSize() + 16);
        ConfluentProtobufFraming.WriteHeader(buffer, schemaId, messageIndexes);
        message.WriteTo(buffer);
        return buffer.WrittenSpan.ToArray();
    }
}
