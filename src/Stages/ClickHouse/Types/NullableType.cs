using System.Buffers;
using EventPipeline.Stages.Events;

namespace EventPipeline.Stages.ClickHouse.Types;

/// <summary>Nullable(T): a flag byte (1 = null), followed by T's value only when not null.</summary>
public sealed class NullableType : ClickHouseType
{
    internal NullableType(string name, ClickHouseType inner) : base(name) => Inner = inner;

    public ClickHouseType Inner { get; }

    protected override void WriteNull(IBufferWriter<byte> output) => RowBinary.WriteByte(output, 1);

    protected override void WriteValue(IBufferWriter<byte> output, in FieldValue value)
    {
        RowBinary.WriteByte(output, 0);
        Inner.Write(output, value);
    }
}
