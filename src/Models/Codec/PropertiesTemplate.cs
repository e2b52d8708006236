using System.Text.Json;

namespace EventPipeline.Models.Codec;

/// <summary>
/// Splits a compact properties object into its template (structure, keys and literals, with a placeholder per
/// string or number value) and its values, as raw JSON text so that escapes and number spellings survive. Two
/// events of the same kind share a template; the template is a categorical feature, the values go to their own
/// features or to the side channel. Joining a template with its values rebuilds the original bytes exactly.
/// </summary>
internal static class PropertiesTemplate
{
    /// <summary>Stands for one string value; compact JSON text never holds a raw control character.</summary>
    public const byte StringSlot = 0x01;

    /// <summary>Stands for one number value.</summary>
    public const byte NumberSlot = 0x02;

    public readonly record struct Value(int Start, int Length, bool IsString);

    /// <summary>
    /// Tokenises <paramref name="json"/>; false when it is not one JSON document in compact form (then the caller
    /// ships it verbatim). <paramref name="values"/> index into <paramref name="json"/>.
    /// </summary>
    public static bool TrySplit(ReadOnlySpan<byte> json, WireWriter template, List<Value> values)
    {
        template.Reset();
        values.Clear();
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 });
        var needsComma = false;
        try
        {
            while (reader.Read())
            {
                var start = (int)reader.TokenStartIndex;
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        Comma(template, ref needsComma);
                        template.Byte(reader.TokenType == JsonTokenType.StartObject ? (byte)'{' : (byte)'[');
                        needsComma = false;
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        template.Byte(reader.TokenType == JsonTokenType.EndObject ? (byte)'}' : (byte)']');
                        needsComma = true;
                        break;
                    case JsonTokenType.PropertyName:
                        Comma(template, ref needsComma);
                        // "key" as written, escapes included (BytesConsumed would include the colon).
                        template.Bytes(json.Slice(start, reader.ValueSpan.Length + 2));
                        template.Byte((byte)':');
                        needsComma = false;
                        break;
                    case JsonTokenType.String:
                        Comma(template, ref needsComma);
                        template.Byte(StringSlot);
                        values.Add(new Value(start + 1, reader.ValueSpan.Length, IsString: true));
                        needsComma = true;
                        break;
                    case JsonTokenType.Number:
                        Comma(template, ref needsComma);
                        template.Byte(NumberSlot);
                        values.Add(new Value(start, reader.ValueSpan.Length, IsString: false));
                        needsComma = true;
                        break;
                    default: // true, false, null: part of the template
                        Comma(template, ref needsComma);
                        template.Bytes(reader.ValueSpan);
                        needsComma = true;
                        break;
                }
            }
            if (reader.BytesConsumed != json.Length)
                return false;
        }
        catch (JsonException)
        {
            return false;
        }
        // Anything that did not survive as written (whitespace, odd spacing) would not be rebuilt byte for byte.
        return template.Length + values.Sum(v => v.Length + (v.IsString ? 2 : 0)) - values.Count == json.Length;
    }

    private static void Comma(WireWriter template, ref bool needsComma)
    {
        if (needsComma)
            template.Byte((byte)',');
    }

    /// <summary>How many values a template holds, and of which kind, in order.</summary>
    public static int CountSlots(ReadOnlySpan<byte> template) => template.Count(StringSlot) + template.Count(NumberSlot);
}

/// <summary>
/// JSON number text in its densest exact form: a plain decimal (-?digits[.digits], up to 18 digits) as a tag byte
/// (sign, digits after the point) and a varint of its digits; any other spelling (exponents, long mantissas) as text.
/// </summary>
internal static class CompactNumber
{
    private const int MaxDigits = 18;

    public static void Write(WireWriter writer, ReadOnlySpan<byte> text)
    {
        if (TryDecimal(text, out var negative, out var mantissa, out var scale))
        {
            writer.Byte((byte)(1 | (negative ? 2 : 0) | (scale << 2)));
            writer.VarUInt(mantissa);
            return;
        }
        writer.Byte(0);
        writer.Utf8WithLength(text);
    }

    public static void Read(ref WireReader reader, WireWriter output)
    {
        var tag = reader.Byte();
        if ((tag & 1) == 0)
        {
            if (tag != 0)
                throw new CodecFormatException($"bad number tag {tag}");
            output.Bytes(reader.Utf8WithLength(1 << 16));
            return;
        }
        var scale = tag >> 2;
        var mantissa = reader.VarUInt();
        if (scale > MaxDigits || mantissa >= 1_000_000_000_000_000_000UL)
            throw new CodecFormatException("number out of range");
        if ((tag & 2) != 0)
            output.Byte((byte)'-');
        Span<byte> digits = stackalloc byte[20];
        var count = 0;
        do
        {
            digits[count++] = (byte)('0' + (int)(mantissa % 10));
            mantissa /= 10;
        }
        while (mantissa > 0);
        // Left-pad with zeros so that there is at least one digit before the point: 5 at scale 2 is "0.05".
        while (count <= scale)
            digits[count++] = (byte)'0';
        for (var i = count - 1; i >= 0; i--)
        {
            output.Byte(digits[i]);
            if (i == scale && scale > 0)
                output.Byte((byte)'.');
        }
    }

    private static bool TryDecimal(ReadOnlySpan<byte> text, out bool negative, out ulong mantissa, out int scale)
    {
        negative = false;
        mantissa = 0;
        scale = 0;
        var i = 0;
        if (i < text.Length && text[i] == '-')
        {
            negative = true;
            i++;
        }
        var integerStart = i;
        while (i < text.Length && text[i] is >= (byte)'0' and <= (byte)'9')
            mantissa = mantissa * 10 + (ulong)(text[i++] - '0');
        var integerDigits = i - integerStart;
        if (integerDigits == 0 || (integerDigits > 1 && text[integerStart] == '0'))
            return false;
        if (i < text.Length && text[i] == '.')
        {
            i++;
            var fractionStart = i;
            while (i < text.Length && text[i] is >= (byte)'0' and <= (byte)'9')
                mantissa = mantissa * 10 + (ulong)(text[i++] - '0');
            scale = i - fractionStart;
            if (scale == 0)
                return false;
        }
        return i == text.Length && integerDigits + scale <= MaxDigits;
    }
}
