using System.Buffers;
using EventPipeline.Stages.Events;

namespace EventPipeline.Stages.ClickHouse.Types;

/// <summary>
/// UUID: ClickHouse stores it as two little-endian UInt64 halves, the high half (first 8 bytes of the text form)
/// first, so each half of the big-endian bytes is reversed. Guid's own byte order is neither.
/// </summary>
public sealed class UuidType() : ClickHouseType("UUID")
{
    private const int Size = 16;

    protected override void WriteNull(IBufferWriter<byte> output)
    {
        output.GetSpan(Size)[..Size].Clear();
        output.Advance(Size);
    }

    protected override void WriteValue(IBufferWriter<byte> output, in FieldValue value)
    {
        Guid uuid;
        switch (value.Kind)
        {
            case FieldKind.Uuid:
                uuid = value.Uuid;
                break;
            case FieldKind.String:
                if (!Guid.TryParse(value.Text, out uuid))
                    throw Reject(value, "is not a UUID");
                break;
            default:
                throw NotConvertible(value);
        }
        var span = output.GetSpan(Size);
        uuid.TryWriteBytes(span, bigEndian: true, out _);
        span[..8].Reverse();
        span[8..Size].Reverse();
        output.Advance(Size);
    }
}
