using System.Buffers;
using System.Globalization;
using EventPipeline.Stages.Events;

namespace EventPipeline.Stages.ClickHouse.Types;

/// <summary>Float32 / Float64. NaN and infinities pass through; a finite value too large for Float32 is an error.</summary>
public sealed class FloatType : ClickHouseType
{
    internal FloatType(string family) : base(family) => Size = family == "Float32" ? 4 : 8;

    /// <summary>Width in bytes.</summary>
    public int Size { get; }

    protected override void WriteNull(IBufferWriter<byte> output) => RowBinary.WriteFixed(output, 0UL, Size);

    protected override void WriteValue(IBufferWriter<byte> output, in FieldValue value)
    {
        double number;
        switch (value.Kind)
        {
            case FieldKind.Int64 or FieldKind.Bool:
                number = value.Int64;
                break;
            case FieldKind.Float64:
                number = value.Float64;
                break;
            case FieldKind.String:
                if (!double.TryParse(value.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out number))
                    throw Reject(value, "is not a number");
                break;
            default:
                throw NotConvertible(value);
        }
        if (Size == 8)
        {
            RowBinary.WriteFixed(output, BitConverter.DoubleToUInt64Bits(number), 8);
            return;
        }
        var single = (float)number;
        if (float.IsInfinity(single) && double.IsFinite(number))
            throw Reject(value, "is out of Float32 range");
        RowBinary.WriteFixed(output, BitConverter.SingleToUInt32Bits(single), 4);
    }
}
