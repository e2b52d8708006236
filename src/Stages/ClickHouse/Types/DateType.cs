using System.Buffers;
using EventPipeline.Stages.Events;

namespace EventPipeline.Stages.ClickHouse.Types;

/// <summary>Date: UInt16 days since 1970-01-01 (UTC day of the instant), so 1970-01-01..2149-06-06.</summary>
public sealed class DateType() : ClickHouseType("Date")
{
    protected override void WriteNull(IBufferWriter<byte> output) => RowBinary.WriteFixed(output, 0UL, 2);

    protected override void WriteValue(IBufferWriter<byte> output, in FieldValue value)
    {
        var days = EpochTicks.FloorDivide(EpochTicks.Get(this, value), TimeSpan.TicksPerDay);
        if (days is < 0 or > ushort.MaxValue)
            throw Reject(value, "is outside 1970-01-01..2149-06-06");
        RowBinary.WriteFixed(output, (ulong)days, 2);
    }
}
