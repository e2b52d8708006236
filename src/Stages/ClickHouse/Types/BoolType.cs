using System.Buffers;
using EventPipeline.Stages.Events;

namespace EventPipeline.Stages.ClickHouse.Types;

/// <summary>Bool (servers from 21.12): one byte, 0 or 1.</summary>
public sealed class BoolType() : ClickHouseType("Bool")
{
    protected override void WriteNull(IBufferWriter<byte> output) => RowBinary.WriteByte(output, 0);

    protected override void WriteValue(IBufferWriter<byte> output, in FieldValue value)
    {
        var flag = value.Kind switch
        {
            FieldKind.Bool => value.Int64 != 0,
            FieldKind.Int64 when value.Int64 is 0 or 1 => value.Int64 == 1,
            FieldKind.String when value.Text is "true" or "1" => true,
            FieldKind.String when value.Text is "false" or "0" => false,
            FieldKind.Int64 or FieldKind.String => throw Reject(value, "is not a boolean"),
            _ => throw NotConvertible(value),
        };
        RowBinary.WriteByte(output, flag ? (byte)1 : (byte)0);
    }
}
