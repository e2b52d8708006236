using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace EventPipeline.Stages.Events;

/// <summary>
/// The header Confluent's Protobuf serializers put before the message bytes: magic byte 0, the schema id as a
/// 4-byte big-endian integer, then the message-index path that picks the message type inside the schema file.
/// The path is a zigzag varint count followed by that many zigzag varint indexes; the common path [0] (first
/// message in the file) is shortened to a single 0x00 byte, i.e. a count of zero.
/// </summary>
public static class ConfluentProtobufFraming
{
    public const byte MagicByte = 0;

    /// <summary>Magic byte, schema id and the shortened [0] path.</summary>
    public const int MinHeaderLength = 6;

    /// <summary>
    /// Reads the header at the start of <paramref name="data"/>. <paramref name="messageIndexes"/> receives the
    /// index path (at least one entry); a path longer than it is an error.
    /// </summary>
    public static bool TryReadHeader(
        ReadOnlySpan<byte> data,
        out int schemaId,
        Span<int> messageIndexes,
        out int messageIndexCount,
        out int headerLength,
        [NotNullWhen(false)] out string? error)
    {
        schemaId = 0;
        messageIndexCount = 0;
        headerLength = 0;
        if (data.Length < MinHeaderLength)
        {
            error = $"Confluent Protobuf header truncated: {data.Length} bytes, need at least {MinHeaderLength}";
            return false;
        }

        if (data[0] != MagicByte)
        {
            error = $"Confluent Protobuf header: magic byte is 0x{data[0]:x2}, expected 0x00";
            return false;
        }

        schemaId = BinaryPrimitives.ReadInt32BigEndian(data[1..5]);
        int position = 5;
        if (!TryReadZigZagVarint(data, ref position, out int count) || count < 0)
        {
            error = "Confluent Protobuf header: bad message-index count";
            return false;
        }

        if (count == 0)
        {
            if (messageIndexes.IsEmpty)
            {
                error = "Confluent Protobuf header: no room for the message-index path";
                return false;
            }

            messageIndexes[0] = 0;
            messageIndexCount = 1;
            headerLength = position;
            error = null;
            return true;
        }

        if (count > messageIndexes.Length)
        {
            error = $"Confluent Protobuf header: message-index path of {count} entries is deeper than {messageIndexes.Length}";
            return false;
        }

        for (int i = 0; i < count; i++)
        {
            if (!TryReadZigZagVarint(data, ref position, out int index) || index < 0)
            {
                error = $"Confluent Protobuf header: bad message index at byte {position}";
                return false;
            }

            messageIndexes[i] = index;
        }

        messageIndexCount = count;
        headerLength = position;
        error = null;
        return true;
    }

    public static void WriteHeader(IBufferWriter<byte> writer, int schemaId, ReadOnlySpan<int> messageIndexes)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (messageIndexes.IsEmpty)
        {
            throw new ArgumentException("The message-index path needs at least one entry; [0] is the first message.", nameof(messageIndexes));
        }

        // Magic byte + schema id + at most 5 bytes per varint.
        Span<byte> span = writer.GetSpan(5 + (5 * (messageIndexes.Length + 1)));
        span[0] = MagicByte;
        BinaryPrimitives.WriteInt32BigEndian(span[1..5], schemaId);
        int position = 5;
        if (messageIndexes is [0])
        {
            span[position++] = 0;
        }
        else
        {
            WriteZigZagVarint(span, ref position, messageIndexes.Length);
            foreach (int index in messageIndexes)
            {
                ArgumentOutOfRangeException.ThrowIfNegative(index, nameof(messageIndexes));
                WriteZigZagVarint(span, ref position, index);
            }
        }

        writer.Advance(position);
    }

    private static bool TryReadZigZagVarint(ReadOnlySpan<byte> data, ref int position, out int value)
    {
        uint raw = 0;
        for (int shift = 0; shift < 35; shift += 7)
        {
            if (position >= data.Length)
            {
                break;
            }

            byte b = data[position++];
            raw |= (uint)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                value = (int)(raw >> 1) ^ -(int)(raw & 1);
                return true;
            }
        }

        value = 0;
        return false;
    }

    private static void WriteZigZagVarint(Span<byte> span, ref int position, int value)
    {
        uint raw = (uint)((value << 1) ^ (value >> 31));
        while (raw >= 0x80)
        {
            span[position++] = (byte)(raw | 0x80);
            raw >>= 7;
        }

        span[position++] = (byte)raw;
    }
}
