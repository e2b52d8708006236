using System.Buffers;
using EventPipeline.Stages.Events;

namespace EventPipeline.Stages.ClickHouse.Types;

/// <summary>
/// Enum8 / Enum16: the declared value as Int8 / Int16. Only declared names or values are accepted, and a missing
/// value is an error: writing the type's zero would invent a member the table never declared.
/// </summary>
public sealed class EnumType : ClickHouseType
{
    private readonly Dictionary<string, short> _byName;
    private readonly HashSet<short> _declared;

    internal EnumType(string name, int size, IReadOnlyList<KeyValuePair<string, short>> values) : base(name)
    {
        Size = size;
        Values = values;
        _byName = new(StringComparer.Ordinal);
        _declared = [];
        foreach (var (member, value) in values)
        {
            if (size == 1 && value is < sbyte.MinValue or > sbyte.MaxValue)
                throw new FormatException($"malformed ClickHouse type '{name}': {value} does not fit Enum8");
            if (!_byName.TryAdd(member, value) || !_declared.Add(value))
                throw new FormatException($"malformed ClickHouse type '{name}': duplicate entry '{member}' = {value}");
        }
    }

    /// <summary>Width in bytes: 1 for Enum8, 2 for Enum16.</summary>
    public int Size { get; }

    /// <summary>The declared names and values, in declaration order.</summary>
    public IReadOnlyList<KeyValuePair<string, short>> Values { get; }

    protected override void WriteNull(IBufferWriter<byte> output) => throw Reject(FieldValue.Null, "is not a declared value");

    protected override void WriteValue(IBufferWriter<byte> output, in FieldValue value)
    {
        short number;
        switch (value.Kind)
        {
            case FieldKind.String when _byName.TryGetValue(value.Text!, out number):
                break;
            case FieldKind.Int64 when value.Int64 is >= short.MinValue and <= short.MaxValue && _declared.Contains((short)value.Int64):
                number = (short)value.Int64;
                break;
            case FieldKind.String or FieldKind.Int64:
                throw Reject(value, "is not a declared value");
            default:
                throw NotConvertible(value);
        }
        RowBinary.WriteFixed(output, (ulong)number, Size);
    }
}
