using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace EventPipeline.Stages.Events;

/// <summary>
/// Reads the <c>properties</c> object: keeps its raw bytes as compact JSON text and, while passing over it,
/// lifts the configured top-level keys into <see cref="FieldValue"/>s.
/// </summary>
internal static class PropertiesReader
{
    private const int StackBufferBytes = 1024;

    /// <summary>
    /// <paramref name="reader"/> is on the object's StartObject token and is left on its EndObject.
    /// <paramref name="values"/> is null when no columns are extracted.
    /// </summary>
    public static DecodeError? Read(
        ref Utf8JsonReader reader,
        ReadOnlySpan<byte> json,
        string field,
        PropertyColumnSet? columns,
        FieldValue[]? values,
        out ReadOnlySpan<byte> rawObject)
    {
        long start = reader.TokenStartIndex;
        if (columns is null || values is null)
        {
            reader.Skip();
        }
        else if (Extract(ref reader, json, field, columns, values) is { } error)
        {
            rawObject = default;
            return error;
        }

        rawObject = json[(int)start..(int)reader.BytesConsumed];

        // Utf8JsonReader checks UTF-8 only when a string is decoded; the raw text is copied as is, so check it here.
        if (!Utf8.IsValid(rawObject))
        {
            return new DecodeError(DecodeErrorKind.Malformed, $"{field}: invalid UTF-8");
        }

        return null;
    }

    /// <summary>
    /// Reads a properties object that arrives as text rather than inside a JSON event (Protobuf's properties_json,
    /// an event the learned codec rebuilt): checks it is one object, fills <see cref="AnalyticsEvent.PropertyValues"/>
    /// (already sized to <paramref name="columns"/>) and stores the compact text in <see cref="AnalyticsEvent.PropertiesJson"/>.
    /// </summary>
    public static DecodeError? ReadText(string text, string field, PropertyColumnSet? columns, AnalyticsEvent evt)
    {
        byte[] rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetByteCount(text));
        try
        {
            ReadOnlySpan<byte> json = rented.AsSpan(0, Encoding.UTF8.GetBytes(text, rented));
            var reader = new Utf8JsonReader(json);
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return new DecodeError(DecodeErrorKind.WrongType, $"{field}: expected an object, got {JsonText.Describe(reader.TokenType)}");
            }

            if (Read(ref reader, json, field, columns, evt.PropertyValues, out ReadOnlySpan<byte> raw) is { } error)
            {
                return error;
            }

            if (json[(int)reader.BytesConsumed..].IndexOfAnyExcept(JsonText.Whitespace) >= 0)
            {
                return new DecodeError(DecodeErrorKind.Malformed, $"{field}: trailing data after the JSON object");
            }

            evt.PropertiesJson = ToCompactString(raw, raw.Length == json.Length ? text : null);
            return null;
        }
        catch (JsonException ex)
        {
            return new DecodeError(DecodeErrorKind.Malformed, $"{field}: malformed JSON {JsonText.Malformed(rented, ex)}");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// The JSON text without insignificant whitespace; everything else is kept byte for byte.
    /// <paramref name="sameText"/>, the text of <paramref name="json"/> when the caller has it, is returned
    /// instead of a new string when nothing changes.
    /// </summary>
    public static string ToCompactString(ReadOnlySpan<byte> json, string? sameText = null)
    {
        if (json.IndexOfAny(JsonText.Whitespace) < 0)
        {
            return sameText ?? Encoding.UTF8.GetString(json);
        }

        byte[]? rented = null;
        Span<byte> buffer = json.Length <= StackBufferBytes
            ? stackalloc byte[StackBufferBytes]
            : (rented = ArrayPool<byte>.Shared.Rent(json.Length));
        try
        {
            int length = Compact(json, buffer);
            return length == json.Length && sameText is not null ? sameText : Encoding.UTF8.GetString(buffer[..length]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static DecodeError? Extract(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, string field, PropertyColumnSet columns, FieldValue[] values)
    {
        Span<bool> seen = columns.Count <= 64 ? stackalloc bool[64] : new bool[columns.Count];
        Span<byte> keyBuffer = stackalloc byte[256];
        try
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                scoped ReadOnlySpan<byte> key = reader.ValueSpan;
                if (reader.ValueIsEscaped)
                {
                    Span<byte> target = key.Length <= keyBuffer.Length ? keyBuffer : new byte[key.Length];
                    key = target[..reader.CopyString(target)];
                }

                int index = columns.IndexOf(key);
                reader.Read();
                if (index < 0)
                {
                    reader.Skip();
                    continue;
                }

                if (seen[index])
                {
                    return new DecodeError(DecodeErrorKind.Malformed, $"{field}: duplicate key '{Encoding.UTF8.GetString(key)}'");
                }

                seen[index] = true;
                values[index] = ReadValue(ref reader, json);
            }
        }
        catch (InvalidOperationException)
        {
            // Utf8JsonReader.GetString's way of reporting invalid UTF-8.
            return new DecodeError(DecodeErrorKind.Malformed, $"{field}: invalid UTF-8");
        }

        return null;
    }

    private static FieldValue ReadValue(ref Utf8JsonReader reader, ReadOnlySpan<byte> json)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return FieldValue.FromString(reader.GetString());
            case JsonTokenType.Number:
                if (reader.TryGetInt64(out long integer))
                {
                    return FieldValue.FromInt64(integer);
                }

                return reader.TryGetDouble(out double number) && double.IsFinite(number)
                    ? FieldValue.FromFloat64(number)
                    : FieldValue.FromString(Encoding.UTF8.GetString(reader.ValueSpan));
            case JsonTokenType.True:
                return FieldValue.FromBool(true);
            case JsonTokenType.False:
                return FieldValue.FromBool(false);
            case JsonTokenType.StartArray when CountStringArray(reader) is int count:
                string[] strings = count == 0 ? [] : new string[count];
                for (int i = 0; i < count; i++)
                {
                    reader.Read();
                    strings[i] = reader.GetString()!;
                }

                reader.Read();
                return FieldValue.FromStringArray(strings);
            case JsonTokenType.StartArray or JsonTokenType.StartObject:
                long start = reader.TokenStartIndex;
                reader.Skip();
                return FieldValue.FromString(ToCompactString(json[(int)start..(int)reader.BytesConsumed]));
            default:
                return FieldValue.Null;
        }
    }

    /// <summary>
    /// The element count when the array at <paramref name="probe"/> holds only strings, else null. Takes the
    /// reader by value: a copy of a Utf8JsonReader is a checkpoint, so the caller reads the array again after.
    /// </summary>
    private static int? CountStringArray(Utf8JsonReader probe)
    {
        int count = 0;
        while (probe.Read())
        {
            switch (probe.TokenType)
            {
                case JsonTokenType.String:
                    count++;
                    break;
                case JsonTokenType.EndArray:
                    return count;
                default:
                    return null;
            }
        }

        return null;
    }

    private static int Compact(ReadOnlySpan<byte> json, Span<byte> destination)
    {
        int written = 0;
        bool inString = false;
        while (!json.IsEmpty)
        {
            int next = inString ? json.IndexOfAny((byte)'"', (byte)'\\') : json.IndexOfAny(" \t\r\n\""u8);
            if (next < 0)
            {
                json.CopyTo(destination[written..]);
                return written + json.Length;
            }

            byte b = json[next];
            int keep = b switch
            {
                (byte)'\\' => next + 2,
                (byte)'"' => next + 1,
                _ => next,
            };
            json[..keep].CopyTo(destination[written..]);
            written += keep;
            json = json[(b is (byte)'"' or (byte)'\\' ? keep : next + 1)..];
            if (b == '"')
            {
                inString = !inString;
            }
        }

        return written;
    }
}
