using System.Text.Json;

namespace EventPipeline.Stages.Events;

/// <summary>The value of each known field: its JSON type, domain and normalisation.</summary>
internal static partial class JsonEventReader
{
    private static DecodeError? ReadField(
        ref Utf8JsonReader reader, ReadOnlySpan<byte> json, Field field, AnalyticsEvent evt, PropertyColumnSet? columns, scoped Span<byte> scratch)
    {
        string name = FieldNames[(int)field];
        int length;
        switch (field)
        {
            case Field.EventId:
                if (RawString(ref reader, name, scratch, out length) is { } idError)
                {
                    return idError;
                }

                if (!EventFieldRules.TryParseUuid(scratch[..length], out Guid id))
                {
                    return Invalid("event_id: invalid UUID");
                }

                if (id == Guid.Empty)
                {
                    return Invalid("event_id: nil UUID");
                }

                evt.EventId = id;
                return null;
            case Field.AppId or Field.UserId or Field.EventName or Field.DeviceId:
                if (reader.TokenType == JsonTokenType.Null)
                {
                    return WrongType(name, "a string", reader.TokenType);
                }

                if (ReadString(ref reader, name, out string required) is { } requiredError)
                {
                    return requiredError;
                }

                if (required.Length == 0)
                {
                    return Invalid($"{name}: empty");
                }

                SetString(evt, field, required);
                return null;
            case Field.OsVersion or Field.AppVersion:
                if (ReadString(ref reader, name, out string optional) is { } optionalError)
                {
                    return optionalError;
                }

                SetString(evt, field, optional);
                return null;
            case Field.EventTimestamp:
                return ReadTimestamp(ref reader, scratch, evt);
            case Field.Platform:
                if (RawString(ref reader, name, scratch, out length) is { } platformError)
                {
                    return platformError;
                }

                string? platform = EventFieldRules.NormalizePlatform(scratch[..length]);
                if (platform is null)
                {
                    return Invalid("platform: unknown platform, expected ios or android");
                }

                evt.Platform = platform;
                return null;
            case Field.Country:
                if (reader.TokenType == JsonTokenType.Null)
                {
                    return null;
                }

                if (RawString(ref reader, name, scratch, out length) is { } countryError)
                {
                    return countryError;
                }

                if (length == 0)
                {
                    return null;
                }

                string? country = EventFieldRules.NormalizeCountry(scratch[..length]);
                if (country is null)
                {
                    return Invalid("country: not an ISO 3166-1 alpha-2 code");
                }

                evt.Country = country;
                return null;
            case Field.Revenue:
                if (reader.TokenType == JsonTokenType.Null)
                {
                    return null;
                }

                if (reader.TokenType != JsonTokenType.Number)
                {
                    return WrongType(name, "a number", reader.TokenType);
                }

                if (!reader.TryGetDouble(out double revenue) || !double.IsFinite(revenue))
                {
                    return Invalid("revenue: number out of range");
                }

                evt.Revenue = revenue;
                return null;
            case Field.Properties:
                if (reader.TokenType == JsonTokenType.Null)
                {
                    return null;
                }

                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return WrongType(name, "an object", reader.TokenType);
                }

                FieldValue[]? values = columns is null ? null : new FieldValue[columns.Count];
                if (PropertiesReader.Read(ref reader, json, name, columns, values, out ReadOnlySpan<byte> raw) is { } propertiesError)
                {
                    return propertiesError;
                }

                evt.PropertiesJson = PropertiesReader.ToCompactString(raw);
                evt.PropertyValues = values;
                return null;
            default:
                throw new ArgumentOutOfRangeException(nameof(field), field, null);
        }
    }

    private static DecodeError? ReadTimestamp(ref Utf8JsonReader reader, scoped Span<byte> scratch, AnalyticsEvent evt)
    {
        long epochMs;
        var isEpochNumber = true;
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                if (!reader.TryGetInt64(out epochMs))
                {
                    return Invalid("event_timestamp: number is not integer epoch milliseconds");
                }

                break;
            case JsonTokenType.String:
                if (RawString(ref reader, "event_timestamp", scratch, out int length) is { } tooLong)
                {
                    return tooLong;
                }

                ReadOnlySpan<byte> text = scratch[..length];
                if (!EventFieldRules.TryParseEpochMsText(text, out epochMs))
                {
                    isEpochNumber = false;
                    if (!EventFieldRules.TryParseIso8601(text, out epochMs))
                    {
                        return Invalid("event_timestamp: unparseable, expected ISO 8601 with offset or epoch milliseconds");
                    }
                }

                break;
            default:
                return WrongType("event_timestamp", "a string or number", reader.TokenType);
        }

        if (!EventFieldRules.IsTimestampInRange(epochMs))
        {
            return Invalid("event_timestamp: outside 1970..2105");
        }

        if (isEpochNumber && EventFieldRules.ImplausibleEpochNumber("event_timestamp", epochMs) is { } implausible)
        {
            return Invalid(implausible);
        }

        evt.EventTimestampMs = epochMs;
        return null;
    }

    /// <summary>
    /// Copies the current string, unescaped, into <paramref name="scratch"/> rather than allocating it. The
    /// fields read this way have short ASCII domains, so a value longer than the scratch is invalid anyway.
    /// </summary>
    private static DecodeError? RawString(ref Utf8JsonReader reader, string field, scoped Span<byte> scratch, out int length)
    {
        length = 0;
        if (reader.TokenType != JsonTokenType.String)
        {
            return WrongType(field, "a string", reader.TokenType);
        }

        if (reader.ValueSpan.Length > scratch.Length)
        {
            return Invalid($"{field}: value too long");
        }

        length = reader.CopyString(scratch);
        return null;
    }

    /// <summary>A string, or "" for null.</summary>
    private static DecodeError? ReadString(ref Utf8JsonReader reader, string field, out string value)
    {
        value = "";
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                try
                {
                    value = reader.GetString()!;
                    return null;
                }
                catch (InvalidOperationException)
                {
                    // Utf8JsonReader.GetString's way of reporting invalid UTF-8.
                    return new DecodeError(DecodeErrorKind.Malformed, $"{field}: invalid UTF-8");
                }

            case JsonTokenType.Null:
                return null;
            default:
                return WrongType(field, "a string", reader.TokenType);
        }
    }

    private static void SetString(AnalyticsEvent evt, Field field, string value)
    {
        switch (field)
        {
            case Field.AppId: evt.AppId = value; break;
            case Field.UserId: evt.UserId = value; break;
            case Field.EventName: evt.EventName = value; break;
            case Field.DeviceId: evt.DeviceId = value; break;
            case Field.OsVersion: evt.OsVersion = value; break;
            case Field.AppVersion: evt.AppVersion = value; break;
            default: throw new ArgumentOutOfRangeException(nameof(field), field, null);
        }
    }

    private static DecodeError Invalid(string reason) => new(DecodeErrorKind.InvalidValue, reason);

    private static DecodeError WrongType(string field, string expected, JsonTokenType actual) =>
        new(DecodeErrorKind.WrongType, $"{field}: expected {expected}, got {JsonText.Describe(actual)}");
}
