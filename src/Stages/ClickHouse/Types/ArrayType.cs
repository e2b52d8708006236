using System.Buffers;
using EventPipeline.Stages.Events;

namespace EventPipeline.Stages.ClickHouse.Types;

/// <summary>
/// Array(T): varint element count, then the elements. A StringArray source converts each element with T (a null
/// element is T's null); a missing value is the empty array. Nested arrays parse and write, but no source kind
/// can fill their inner levels, so only a missing value reaches them.
/// </summary>
public sealed class ArrayType : ClickHouseType
{
    internal ArrayType(string name, ClickHouseType element) : base(name) => Element = element;

    public ClickHouseType Element { get; }

    protected override void WriteNull(IBufferWriter<byte> output) => RowBinary.WriteVarUInt(output, 0);

    protected override void WriteValue(IBufferWriter<byte> output, in FieldValue value)
    {
        if (value.Kind != FieldKind.StringArray)
            throw NotConvertible(value);
        var items = value.Array!;
        RowBinary.WriteVarUInt(output, (ulong)items.Length);
        for (var i = 0; i < items.Length; i++)
        {
            try
            {
                Element.Write(output, FieldValue.FromString(items[i]));
            }
            catch (ColumnValueException e)
            {
                throw Reject(value, $"element [{i}]: {e.ValueKind} {e.Detail}");
            }
        }
    }
}
