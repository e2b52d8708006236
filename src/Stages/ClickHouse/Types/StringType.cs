using System.Buffers;
using EventPipeline.Stages.Events;

namespace EventPipeline.Stages.ClickHouse.Types;

/// <summary>String: every scalar kind is accepted in its invariant text form.</summary>
public sealed class StringType() : ClickHouseType("String")
{
    protected override void WriteNull(IBufferWriter<byte> output) => RowBinary.WriteVarUInt(output, 0);

    protected override void WriteValue(IBufferWriter<byte> output, in FieldValue value)
    {
        if (value.Kind == FieldKind.String)
        {
            RowBinary.WriteString(output, value.Text!);
            return;
        }
        Span<byte> utf8 = stackalloc byte[ScalarText.MaxLength];
        if (!ScalarText.TryFormat(value, utf8, out var length))
            throw NotConvertible(value);
        RowBinary.WriteString(output, utf8[..length]);
    }
}
