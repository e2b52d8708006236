using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace EventPipeline.Stages.ClickHouse;

/// <summary>Primitive RowBinary encodings: little-endian fixed-width numbers, LEB128 lengths, strings.</summary>
public static class RowBinary
{
    private const int MaxVarUInt64Bytes = 10;

    public static void WriteByte(IBufferWriter<byte> output, byte value)
    {
        output.GetSpan(1)[0] = value;
        output.Advance(1);
    }

    /// <summary>Writes the low <paramref name="size"/> bytes (1, 2, 4 or 8) of <paramref name="bits"/>, little-endian.</summary>
    public static void WriteFixed(IBufferWriter<byte> output, ulong bits, int size)
    {
        // Little-endian means the low bytes come first, so writing all eight and advancing by size keeps just them.
        BinaryPrimitives.WriteUInt64LittleEndian(output.GetSpan(sizeof(ulong)), bits);
        output.Advance(size);
    }

    /// <summary>Writes the low <paramref name="size"/> bytes (4, 8 or 16) of a two's complement Int128, little-endian.</summary>
    public static void WriteFixed(IBufferWriter<byte> output, Int128 value, int size)
    {
        BinaryPrimitives.WriteInt128LittleEndian(output.GetSpan(16), value);
        output.Advance(size);
    }

    public static void WriteVarUInt(IBufferWriter<byte> output, ulong value)
    {
        var span = output.GetSpan(MaxVarUInt64Bytes);
        output.Advance(WriteVarUInt(span, value));
    }

    public static int VarUIntLength(ulong value)
    {
        var length = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            length++;
        }
        return length;
    }

    /// <summary>A String: varint byte length, then UTF-8 bytes, encoded straight into the output.</summary>
    public static void WriteString(IBufferWriter<byte> output, string value)
    {
        var byteCount = Encoding.UTF8.GetByteCount(value);
        var prefix = VarUIntLength((ulong)byteCount);
        var span = output.GetSpan(prefix + byteCount);
        WriteVarUInt(span, (ulong)byteCount);
        Encoding.UTF8.GetBytes(value, span[prefix..]);
        output.Advance(prefix + byteCount);
    }

    public static void WriteString(IBufferWriter<byte> output, ReadOnlySpan<byte> utf8)
    {
        var prefix = VarUIntLength((ulong)utf8.Length);
        var span = output.GetSpan(prefix + utf8.Length);
        WriteVarUInt(span, (ulong)utf8.Length);
        utf8.CopyTo(span[prefix..]);
        output.Advance(prefix + utf8.Length);
    }

    private static int WriteVarUInt(Span<byte> span, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        span[i++] = (byte)value;
        return i;
    }
}
