using System.Buffers;
using EventPipeline.Stages.Events;

namespace EventPipeline.Stages.ClickHouse.Types;

/// <summary>DateTime64(p[, 'tz']): Int64 count of 10^-p seconds since the epoch; p in 0..9.</summary>
public sealed class DateTime64Type : ClickHouseType
{
    private const int TickDigits = 7;

    internal DateTime64Type(string name, int precision, string? timeZone) : base(name)
    {
        if (precision > 9)
            throw new FormatException($"malformed ClickHouse type '{name}': precision must be 0..9");
        Precision = precision;
        TimeZone = timeZone;
    }

    public int Precision { get; }
    public string? TimeZone { get; }

    protected override void WriteNull(IBufferWriter<byte> output) => RowBinary.WriteFixed(output, 0UL, 8);

    protected override void WriteValue(IBufferWriter<byte> output, in FieldValue value)
    {
        var ticks = EpochTicks.Get(this, value);
        long count;
        if (Precision <= TickDigits)
        {
            count = EpochTicks.FloorDivide(ticks, (long)Pow10.Of(TickDigits - Precision));
        }
        else
        {
            var scaled = ticks * Pow10.Of(Precision - TickDigits);
            if (scaled < long.MinValue || scaled > long.MaxValue)
                throw Reject(value, "is out of range");
            count = (long)scaled;
        }
        RowBinary.WriteFixed(output, (ulong)count, 8);
    }
}
