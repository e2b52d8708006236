using System.Buffers;
using EventPipeline.Stages.Events;

namespace EventPipeline.Stages.ClickHouse.Types;

/// <summary>LowCardinality(T): a storage concern only; in RowBinary it is written exactly as T.</summary>
public sealed class LowCardinalityType : ClickHouseType
{
    internal LowCardinalityType(string name, ClickHouseType inner) : base(name) => Inner = inner;

    public ClickHouseType Inner { get; }

    protected override void WriteNull(IBufferWriter<byte> output) => Inner.Write(output, FieldValue.Null);

    protected override void WriteValue(IBufferWriter<byte> output, in FieldValue value) => Inner.Write(output, value);
}
