using System.Numerics;
using System.Text.Json;

namespace EventPipeline.Stages.Events;

/// <summary>The JSON form of an event, read in one pass with <see cref="Utf8JsonReader"/>.</summary>
internal static partial class JsonEventReader
{
    private enum Field : byte
    {
        // The required fields come first, so that they form the low bits of RequiredMask.
        EventId,
        AppId,
        UserId,
        EventName,
        EventTimestamp,
        DeviceId,
        Platform,
        OsVersion,
        AppVersion,
        Country,
        Revenue,
        Properties,
        Unknown,
    }

    private const uint RequiredMask = (1u << ((int)Field.Platform + 1)) - 1;

    private static readonly string[] FieldNames =
    [
        "event_id", "app_id", "user_id", "event_name", "event_timestamp", "device_id", "platform",
        "os_version", "app_version", "country", "revenue", "properties",
    ];

    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    public static DecodeResult Read(ReadOnlySpan<byte> payload, PropertyColumnSet? columns)
    {
        ReadOnlySpan<byte> json = payload.StartsWith(Utf8Bom) ? payload[Utf8Bom.Length..] : payload;
        int offset = payload.Length - json.Length;
        if (json.IndexOfAnyExcept(JsonText.Whitespace) < 0)
        {
            return DecodeResult.Failure(DecodeErrorKind.Malformed, "empty payload");
        }

        var reader = new Utf8JsonReader(json);
        try
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return DecodeResult.Failure(DecodeErrorKind.WrongType, $"top level is {JsonText.Describe(reader.TokenType)}, expected an object");
            }

            var evt = new AnalyticsEvent();
            uint seen = 0;
            Span<byte> scratch = stackalloc byte[256];
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                Field field = Identify(ref reader, scratch);
                reader.Read();
                if (field == Field.Unknown)
                {
                    reader.Skip();
                    continue;
                }

                uint bit = 1u << (int)field;
                if ((seen & bit) != 0)
                {
                    return DecodeResult.Failure(DecodeErrorKind.Malformed, $"duplicate field {FieldNames[(int)field]}");
                }

                seen |= bit;
                if (ReadField(ref reader, json, field, evt, columns, scratch) is { } error)
                {
                    return error;
                }
            }

            int trailing = json[(int)reader.BytesConsumed..].IndexOfAnyExcept(JsonText.Whitespace);
            if (trailing >= 0)
            {
                return DecodeResult.Failure(
                    DecodeErrorKind.Malformed,
                    $"trailing data after the JSON object at byte {offset + reader.BytesConsumed + trailing}");
            }

            uint missing = RequiredMask & ~seen;
            if (missing != 0)
            {
                return DecodeResult.Failure(
                    DecodeErrorKind.MissingField,
                    $"missing required field {FieldNames[BitOperations.TrailingZeroCount(missing)]}");
            }

            if (columns is not null)
            {
                evt.PropertyValues ??= new FieldValue[columns.Count];
            }

            return DecodeResult.Success(evt);
        }
        catch (JsonException ex)
        {
            return DecodeResult.Failure(DecodeErrorKind.Malformed, $"malformed JSON {JsonText.Malformed(json, ex, offset)}");
        }
        catch (InvalidOperationException)
        {
            // Utf8JsonReader's way of reporting a string it cannot unescape, e.g. a lone surrogate escape.
            return DecodeResult.Failure(DecodeErrorKind.Malformed, "malformed JSON: a string has an invalid escape or UTF-8");
        }
    }

    private static Field Identify(ref Utf8JsonReader reader, scoped Span<byte> scratch)
    {
        scoped ReadOnlySpan<byte> name = reader.ValueSpan;
        if (reader.ValueIsEscaped)
        {
            // Known names have at most 15 characters, so at most 90 bytes even with every one escaped.
            if (name.Length > scratch.Length)
            {
                return Field.Unknown;
            }

            name = scratch[..reader.CopyString(scratch)];
        }

        return name.Length switch
        {
            6 when name.SequenceEqual("app_id"u8) => Field.AppId,
            7 when name.SequenceEqual("user_id"u8) => Field.UserId,
            7 when name.SequenceEqual("country"u8) => Field.Country,
            7 when name.SequenceEqual("revenue"u8) => Field.Revenue,
            8 when name.SequenceEqual("event_id"u8) => Field.EventId,
            8 when name.SequenceEqual("platform"u8) => Field.Platform,
            9 when name.SequenceEqual("device_id"u8) => Field.DeviceId,
            10 when name.SequenceEqual("event_name"u8) => Field.EventName,
            10 when name.SequenceEqual("os_version"u8) => Field.OsVersion,
            10 when name.SequenceEqual("properties"u8) => Field.Properties,
            11 when name.SequenceEqual("app_version"u8) => Field.AppVersion,
            15 when name.SequenceEqual("event_timestamp"u8) => Field.EventTimestamp,
            _ => Field.Unknown,
        };
    }
}
