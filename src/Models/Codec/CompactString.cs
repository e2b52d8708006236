using System.Buffers.Text;

namespace EventPipeline.Models.Codec;

/// <summary>
/// The side channel's string coder for values no model predicts (ids, unseen categories): one tag byte (shape in the
/// high 3 bits, a learned prefix such as "u_" or "cmp_" in the low 5), then the body in its densest exact form:
/// a UUID in 16 bytes, hex digits two per byte, a decimal number as a varint, dotted decimals such as versions
/// ("18.3.2") as a count and one varint per part (format 2 only: format-1 consumers of older builds do not know that
/// shape), anything else as UTF-8.
/// </summary>
internal sealed class CompactString
{
    private const int MaxPrefixes = 31;
    private const int MaxLength = 1 << 24;

    private enum Shape : byte { Raw, HexLower, HexUpper, UuidLower, UuidUpper, Decimal, DottedDecimal }

    private const int MaxDottedParts = 9;
    private const int MaxDottedPartDigits = 9;

    private readonly Vocabulary _prefixes;
    private readonly bool _dottedDecimals;

    public CompactString(IReadOnlyList<string> prefixes, bool dottedDecimals = false)
    {
        _dottedDecimals = dottedDecimals;
        if (prefixes.Count > MaxPrefixes)
            throw new ArgumentException($"at most {MaxPrefixes} prefixes", nameof(prefixes));
        Prefixes = prefixes;
        _prefixes = new Vocabulary(prefixes);
    }

    public IReadOnlyList<string> Prefixes { get; }

    /// <summary>Prefixes worth a slot: letters then one of '_', '-', ':' or '.', as ids in the training data start.</summary>
    public static List<string> LearnPrefixes(IEnumerable<string> values) =>
        [.. values.Select(PrefixOf).Where(p => p.Length > 1)
            .GroupBy(p => p, StringComparer.Ordinal)
            .Where(g => g.Count() >= 20)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Take(MaxPrefixes)
            .Select(g => g.Key)];

    private static string PrefixOf(string value)
    {
        var i = 0;
        while (i < value.Length && i < 16 && char.IsAsciiLetter(value[i]))
            i++;
        return i > 0 && i < value.Length && value[i] is '_' or '-' or ':' or '.' ? value[..(i + 1)] : "";
    }

    public void Write(WireWriter writer, ReadOnlySpan<byte> utf8)
    {
        var prefix = 0;
        var letters = 0;
        while (letters < utf8.Length && letters < 16 && char.IsAsciiLetter((char)utf8[letters]))
            letters++;
        if (letters > 0 && letters < utf8.Length && utf8[letters] is (byte)'_' or (byte)'-' or (byte)':' or (byte)'.')
        {
            var index = _prefixes.IndexOf(utf8[..(letters + 1)]);
            if (index >= Vocabulary.Reserved)
            {
                prefix = index - Vocabulary.Reserved + 1;
                utf8 = utf8[(letters + 1)..];
            }
        }

        var shape = Classify(utf8);
        if (shape == Shape.Raw && _dottedDecimals && IsDottedDecimal(utf8))
            shape = Shape.DottedDecimal;
        writer.Byte((byte)(((int)shape << 5) | prefix));
        switch (shape)
        {
            case Shape.DottedDecimal:
                writer.VarUInt((ulong)(utf8.Count((byte)'.') + 1));
                foreach (var part in utf8.Split((byte)'.'))
                {
                    Utf8Parser.TryParse(utf8[part], out uint value, out _);
                    writer.VarUInt(value);
                }
                break;
            case Shape.Decimal:
                Utf8Parser.TryParse(utf8, out ulong number, out _);
                writer.VarUInt(number);
                break;
            case Shape.UuidLower or Shape.UuidUpper:
                var packed = writer.Reserve(16);
                var at = 0;
                for (var i = 0; i < 36; i++)
                {
                    if (i is 8 or 13 or 18 or 23)
                        continue;
                    var nibble = Nibble(utf8[i]);
                    if ((at & 1) == 0)
                        packed[at >> 1] = (byte)(nibble << 4);
                    else
                        packed[at >> 1] |= (byte)nibble;
                    at++;
                }
                break;
            case Shape.HexLower or Shape.HexUpper:
                writer.VarUInt((ulong)utf8.Length);
                var hex = writer.Reserve((utf8.Length + 1) / 2);
                hex.Clear();
                for (var i = 0; i < utf8.Length; i++)
                    hex[i >> 1] |= (byte)(Nibble(utf8[i]) << ((i & 1) == 0 ? 4 : 0));
                break;
            default:
                writer.Utf8WithLength(utf8);
                break;
        }
    }

    /// <summary>Appends the decoded string's UTF-8 bytes to <paramref name="output"/>.</summary>
    public void Read(ref WireReader reader, WireWriter output)
    {
        var tag = reader.Byte();
        var prefix = tag & 0x1F;
        if (prefix > 0)
        {
            if (prefix > Prefixes.Count)
                throw new CodecFormatException($"string prefix {prefix} unknown to this model ({Prefixes.Count} prefixes)");
            output.Bytes(_prefixes.EntryUtf8(prefix - 1 + Vocabulary.Reserved));
        }
        switch ((Shape)(tag >> 5))
        {
            case Shape.Raw:
                output.Bytes(reader.Utf8WithLength(MaxLength));
                break;
            case Shape.Decimal:
                var number = reader.VarUInt();
                Utf8Formatter.TryFormat(number, output.Reserve(20), out var written);
                output.Truncate(output.Length - 20 + written);
                break;
            case var uuid and (Shape.UuidLower or Shape.UuidUpper):
                var packed = reader.Bytes(16);
                var text = output.Reserve(36);
                var at = 0;
                for (var i = 0; i < 36; i++)
                {
                    if (i is 8 or 13 or 18 or 23)
                    {
                        text[i] = (byte)'-';
                        continue;
                    }
                    var nibble = (at & 1) == 0 ? packed[at >> 1] >> 4 : packed[at >> 1] & 0xF;
                    text[i] = Digit(nibble, uuid == Shape.UuidUpper);
                    at++;
                }
                break;
            case Shape.DottedDecimal:
                var parts = reader.VarIndex(MaxDottedParts + 1, "dotted parts");
                if (parts < 2)
                    throw new CodecFormatException($"{parts} dotted parts");
                for (var p = 0; p < parts; p++)
                {
                    if (p > 0)
                        output.Byte((byte)'.');
                    var part = reader.VarIndex(1_000_000_000, "dotted part");
                    Utf8Formatter.TryFormat((uint)part, output.Reserve(10), out var partDigits);
                    output.Truncate(output.Length - 10 + partDigits);
                }
                break;
            case var hexShape and (Shape.HexLower or Shape.HexUpper):
                var length = reader.VarIndex(MaxLength, "hex length");
                var hex = reader.Bytes((length + 1) / 2);
                var digits = output.Reserve(length);
                for (var i = 0; i < length; i++)
                    digits[i] = Digit((i & 1) == 0 ? hex[i >> 1] >> 4 : hex[i >> 1] & 0xF, hexShape == Shape.HexUpper);
                if ((length & 1) == 1 && (hex[^1] & 0xF) != 0)
                    throw new CodecFormatException("odd hex string with a non-zero padding nibble");
                break;
            default:
                throw new CodecFormatException($"unknown string shape {tag >> 5}");
        }
    }

    private static Shape Classify(ReadOnlySpan<byte> s)
    {
        if (s.Length is > 0 and <= 19 && (s[0] != '0' || s.Length == 1) && IsAll(s, static b => b is >= (byte)'0' and <= (byte)'9'))
            return Shape.Decimal;
        if (s.Length == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-')
        {
            var lower = true;
            var upper = true;
            for (var i = 0; i < 36; i++)
            {
                if (i is 8 or 13 or 18 or 23)
                    continue;
                lower &= IsLowerHex(s[i]);
                upper &= IsUpperHex(s[i]);
            }
            if (lower)
                return Shape.UuidLower;
            if (upper)
                return Shape.UuidUpper;
        }
        if (s.Length > 1 && IsAll(s, IsLowerHex))
            return Shape.HexLower;
        if (s.Length > 1 && IsAll(s, IsUpperHex))
            return Shape.HexUpper;
        return Shape.Raw;
    }

    /// <summary>2..9 decimal parts of 1..9 digits joined by '.', none with a leading zero (so that the parts spell it back exactly).</summary>
    private static bool IsDottedDecimal(ReadOnlySpan<byte> s)
    {
        var parts = 0;
        foreach (var range in s.Split((byte)'.'))
        {
            var part = s[range];
            if (++parts > MaxDottedParts || part.Length is 0 or > MaxDottedPartDigits || (part[0] == '0' && part.Length > 1)
                || !IsAll(part, static b => b is >= (byte)'0' and <= (byte)'9'))
                return false;
        }
        return parts >= 2;
    }

    private static bool IsAll(ReadOnlySpan<byte> s, Func<byte, bool> predicate)
    {
        foreach (var b in s)
        {
            if (!predicate(b))
                return false;
        }
        return true;
    }

    private static bool IsLowerHex(byte b) => b is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f';

    private static bool IsUpperHex(byte b) => b is >= (byte)'0' and <= (byte)'9' or >= (byte)'A' and <= (byte)'F';

    private static int Nibble(byte b) => b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;

    private static byte Digit(int nibble, bool upper) => (byte)(nibble < 10 ? '0' + nibble : (upper ? 'A' : 'a') + nibble - 10);
}
