using System.Buffers;
using System.Globalization;
using EventPipeline.Stages.Events;

namespace EventPipeline.Stages.ClickHouse.Types;

/// <summary>
/// Decimal(P, S) and Decimal32/64/128(S), stored as the Int32/Int64/Int128 value * 10^S. Strings must be exact
/// (no more than S fraction digits); doubles are rounded half away from zero from their shortest round-trip text,
/// so 1.005 becomes 1.01 at S = 2 as a reader of the number expects, not 1.00 as its binary value would give.
/// </summary>
public sealed class DecimalType : ClickHouseType
{
    private const int MaxDoubleTextLength = 32;
    private readonly Int128 _limit;

    internal DecimalType(string name, int precision, int scale) : base(name)
    {
        if (precision is < 1 or > 38 || scale < 0 || scale > precision)
            throw new FormatException($"malformed ClickHouse type '{name}': need 1 <= P <= 38 and 0 <= S <= P");
        Precision = precision;
        Scale = scale;
        Size = precision <= 9 ? 4 : precision <= 18 ? 8 : 16;
        _limit = Pow10.Of(precision);
    }

    public int Precision { get; }
    public int Scale { get; }

    /// <summary>Width in bytes: 4, 8 or 16.</summary>
    public int Size { get; }

    protected override void WriteNull(IBufferWriter<byte> output) => RowBinary.WriteFixed(output, Int128.Zero, Size);

    protected override void WriteValue(IBufferWriter<byte> output, in FieldValue value)
    {
        Int128 scaled;
        switch (value.Kind)
        {
            case FieldKind.Int64 when Int128.Abs(value.Int64) >= Pow10.Of(Precision - Scale):
                throw Reject(value, $"exceeds precision {Precision}");
            case FieldKind.Int64:
                scaled = value.Int64 * Pow10.Of(Scale);
                break;
            case FieldKind.Float64 when !double.IsFinite(value.Float64):
                throw Reject(value, "is not a finite number");
            case FieldKind.Float64:
            {
                Span<char> text = stackalloc char[MaxDoubleTextLength];
                value.Float64.TryFormat(text, out var length, "R", CultureInfo.InvariantCulture);
                Check(value, DecimalText.TryScale(text[..length], Scale, roundHalfAwayFromZero: true, out scaled));
                break;
            }
            case FieldKind.String:
                Check(value, DecimalText.TryScale(value.Text, Scale, roundHalfAwayFromZero: false, out scaled));
                break;
            default:
                throw NotConvertible(value);
        }
        if (Int128.Abs(scaled) >= _limit)
            throw Reject(value, $"exceeds precision {Precision}");
        RowBinary.WriteFixed(output, scaled, Size);
    }

    private void Check(in FieldValue value, DecimalTextResult result)
    {
        switch (result)
        {
            case DecimalTextResult.Malformed:
                throw Reject(value, "is not a decimal number");
            case DecimalTextResult.TooManyFractionDigits:
                throw Reject(value, $"has more than {Scale} fraction digits");
            case DecimalTextResult.TooLarge:
                throw Reject(value, $"exceeds precision {Precision}");
        }
    }
}
