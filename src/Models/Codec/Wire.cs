using System.Buffers.Binary;

namespace EventPipeline.Models.Codec;

/// <summary>A payload that is not a well-formed envelope of this format; the message says what is wrong.</summary>
public sealed class CodecFormatException(string message) : Exception(message);

/// <summary>Appends the envelope's primitives (varints, raw bytes) to a growable buffer that is reused across events.</summary>
internal sealed class WireWriter
{
    private byte[] _buffer;

    public WireWriter(int capacity = 1024) => _buffer = new byte[capacity];

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, Length);

    public void Reset() => Length = 0;

    /// <summary>Truncates back to <paramref name="length"/> (an encoding attempt that had to be abandoned).</summary>
    public void Truncate(int length) => Length = length;

    public Span<byte> Reserve(int count)
    {
        if (Length + count > _buffer.Length)
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Length + count));
        var span = _buffer.AsSpan(Length, count);
        Length += count;
        return span;
    }

    public void Byte(byte value) => Reserve(1)[0] = value;

    public void Bytes(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Reserve(bytes.Length));

    public void VarUInt(ulong value)
    {
        while (value >= 0x80)
        {
            Byte((byte)(value | 0x80));
            value >>= 7;
        }
        Byte((byte)value);
    }

    public void VarInt(long value) => VarUInt((ulong)((value << 1) ^ (value >> 63)));

    public void Int64LittleEndian(long value) => BinaryPrimitives.WriteInt64LittleEndian(Reserve(8), value);

    public void Utf8WithLength(ReadOnlySpan<byte> utf8)
    {
        VarUInt((ulong)utf8.Length);
        Bytes(utf8);
    }
}

/// <summary>Reads what <see cref="WireWriter"/> wrote; every overrun or malformed value is a <see cref="CodecFormatException"/>.</summary>
internal ref struct WireReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;

    public int Position { get; private set; }

    public readonly int Remaining => _data.Length - Position;

    public byte Byte()
    {
        if (Position >= _data.Length)
            throw new CodecFormatException($"envelope truncated at byte {Position}");
        return _data[Position++];
    }

    public ReadOnlySpan<byte> Bytes(int count)
    {
        if (count < 0 || count > Remaining)
            throw new CodecFormatException($"envelope truncated: {count} bytes wanted at byte {Position}, {Remaining} left");
        var span = _data.Slice(Position, count);
        Position += count;
        return span;
    }

    public ulong VarUInt()
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = Byte();
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
                return value;
        }
        throw new CodecFormatException($"varint longer than 10 bytes at byte {Position}");
    }

    public long VarInt()
    {
        var raw = VarUInt();
        return (long)(raw >> 1) ^ -(long)(raw & 1);
    }

    /// <summary>A varint that must be below <paramref name="limit"/> (a length or an index).</summary>
    public int VarIndex(int limit, string what)
    {
        var value = VarUInt();
        if (value >= (ulong)limit)
            throw new CodecFormatException($"{what} {value} out of range (limit {limit}) at byte {Position}");
        return (int)value;
    }

    public long Int64LittleEndian() => BinaryPrimitives.ReadInt64LittleEndian(Bytes(8));

    public ReadOnlySpan<byte> Utf8WithLength(int maxLength) => Bytes(VarIndex(maxLength + 1, "string length"));
}
