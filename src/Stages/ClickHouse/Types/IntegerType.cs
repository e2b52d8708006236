using System.Buffers;
using System.Globalization;
using EventPipeline.Stages.Events;

namespace EventPipeline.Stages.ClickHouse.Types;

/// <summary>
/// Int8..Int64 and UInt8..UInt64. Values are range-checked as Int128 so that one path covers every width and
/// UInt64's top half; TimestampMs is taken as epoch milliseconds (a kafka_timestamp stored as Int64/UInt64).
/// </summary>
public sealed class IntegerType : ClickHouseType
{
    private const double MagnitudeBeyondAnyWidth = 2e19;

    private IntegerType(string name, int size, Int128 min, Int128 max) : base(name)
    {
        Size = size;
        Min = min;
        Max = max;
    }

    /// <summary>Width in bytes.</summary>
    public int Size { get; }
    public Int128 Min { get; }
    public Int128 Max { get; }

    internal static IntegerType Create(string family) => family switch
    {
        "Int8" => new(family, 1, sbyte.MinValue, sbyte.MaxValue),
        "Int16" => new(family, 2, short.MinValue, short.MaxValue),
        "Int32" => new(family, 4, int.MinValue, int.MaxValue),
        "Int64" => new(family, 8, long.MinValue, long.MaxValue),
        "UInt8" => new(family, 1, 0, byte.MaxValue),
        "UInt16" => new(family, 2, 0, ushort.MaxValue),
        "UInt32" => new(family, 4, 0, uint.MaxValue),
        "UInt64" => new(family, 8, 0, ulong.MaxValue),
        _ => throw new ArgumentOutOfRangeException(nameof(family), family, "not an integer type"),
    };

    protected override void WriteNull(IBufferWriter<byte> output) => RowBinary.WriteFixed(output, 0UL, Size);

    protected override void WriteValue(IBufferWriter<byte> output, in FieldValue value)
    {
        Int128 number;
        switch (value.Kind)
        {
            case FieldKind.Int64 or FieldKind.Bool or FieldKind.TimestampMs:
                number = value.Int64;
                break;
            case FieldKind.Float64 when !double.IsInteger(value.Float64):
                throw Reject(value, "is not an integer");
            case FieldKind.Float64:
                // Larger magnitudes are out of range for every width; clamping keeps the Int128 cast in bounds.
                number = Math.Abs(value.Float64) < MagnitudeBeyondAnyWidth ? (Int128)value.Float64 : Int128.MaxValue;
                break;
            case FieldKind.String:
                if (!Int128.TryParse(value.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out number))
                    throw Reject(value, "is not an integer");
                break;
            default:
                throw NotConvertible(value);
        }
        if (number < Min || number > Max)
            throw Reject(value, $"is out of range [{Min}, {Max}]");
        RowBinary.WriteFixed(output, (ulong)number, Size);
    }
}
