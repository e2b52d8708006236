using System.Buffers;
using System.Text.Json;
using EventPipeline.Stages.Codec;
using EventPipeline.Stages.Events;
using Google.Protobuf;
using ProtoEvent = EventPipeline.Stages.Proto.AnalyticsEvent;
using ProtoPlatform = EventPipeline.Stages.Proto.Platform;

namespace EventPipeline.DevTools.Events;

public sealed partial class EventGenerator
{
    // Includes half- and three-quarter-hour zones (India, Nepal, Marquesas), where offset arithmetic goes wrong.
    private static readonly int[] UtcOffsetsMinutes = [330, 345, -570, -420, -180, 60, 540];

    private static readonly long Year2200Ms = new DateTimeOffset(2200, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

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
                payload[0] = (byte)(first >= CodecEnvelope.Magic ? first + 1 : first);
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

    /// <summary>
    /// The canonical JSON (<see cref="EventJsonWriter"/>), then broken as <paramref name="malformation"/> says. The
    /// faults are spliced into the canonical bytes rather than written by a second JSON writer, so that the product's
    /// writer stays free of test branches and the good part of a malformed message is byte for byte what it would be.
    /// </summary>
    private static byte[] WriteJson(AnalyticsEvent evt, JsonTimestampFormat format, int utcOffsetMinutes, MalformedKind? malformation)
    {
        switch (malformation)
        {
            case MalformedKind.TimestampOutOfRange:
                return EventJsonWriter.Write(WithChange(evt, e => e.EventTimestampMs = Year2200Ms), format, utcOffsetMinutes);
            case MalformedKind.UnknownPlatform:
                return EventJsonWriter.Write(WithChange(evt, e => e.Platform = "windows"), format, utcOffsetMinutes);
        }

        byte[] json = EventJsonWriter.Write(evt, format, utcOffsetMinutes);
        switch (malformation)
        {
            case MalformedKind.InvalidUuid:
                // The id's last hex digit goes; its closing quote stays.
                Range id = FindMember(json, "event_id");
                return [.. json.AsSpan(0, id.End.Value - 2), .. json.AsSpan(id.End.Value - 1)];
            case MalformedKind.WrongType:
                Range app = FindMember(json, "app_id");
                return [.. json.AsSpan(0, app.Start.Value), .. "\"app_id\":12345"u8, .. json.AsSpan(app.End.Value)];
            case MalformedKind.MissingField:
                // With the comma before it: user_id is never the first member.
                Range user = FindMember(json, "user_id");
                return [.. json.AsSpan(0, user.Start.Value - 1), .. json.AsSpan(user.End.Value)];
            case MalformedKind.DuplicateField:
                Range name = FindMember(json, "event_name");
                return [.. json.AsSpan(0, name.End.Value), (byte)',', .. json.AsSpan(name), .. json.AsSpan(name.End.Value)];
            default:
                return json;
        }
    }

    /// <summary>A copy of <paramref name="evt"/> with one field changed: the generator's event must stay as it was drawn.</summary>
    private static AnalyticsEvent WithChange(AnalyticsEvent evt, Action<AnalyticsEvent> change)
    {
        var copy = new AnalyticsEvent
        {
            EventId = evt.EventId, AppId = evt.AppId, UserId = evt.UserId, EventName = evt.EventName,
            EventTimestampMs = evt.EventTimestampMs, DeviceId = evt.DeviceId, Platform = evt.Platform, OsVersion = evt.OsVersion,
            AppVersion = evt.AppVersion, Country = evt.Country, Revenue = evt.Revenue, PropertiesJson = evt.PropertiesJson,
        };
        change(copy);
        return copy;
    }

    /// <summary>Where a top-level member of compact JSON stands: from its name's opening quote to the end of its value.</summary>
    private static Range FindMember(byte[] json, string name)
    {
        var reader = new Utf8JsonReader(json);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            int start = (int)reader.TokenStartIndex;
            bool found = reader.ValueTextEquals(name);
            reader.Read();
            reader.Skip();
            if (found)
            {
                return start..(int)reader.BytesConsumed;
            }
        }

        throw new InvalidOperationException($"the canonical JSON has no member {name}");
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
