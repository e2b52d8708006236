using System.Buffers;
using EventPipeline.Stages.Events;

namespace EventPipeline.Stages.ClickHouse.Types;

/// <summary>
/// DateTime / DateTime('tz'): UInt32 seconds since the epoch. The time zone only changes how the server shows
/// the value, never the stored instant, so it plays no part in writing.
/// </summary>
public sealed class DateTimeType : ClickHouseType
{
    internal DateTimeType(string name, string? timeZone) : base(name) => TimeZone = timeZone;

    public string? TimeZone { get; }

    protected override void WriteNull(IBufferWriter<byte> output) => RowBinary.WriteFixed(output, 0UL, 4);

    protected override void WriteValue(IBufferWriter<byte> output, in FieldValue value)
    {
        var seconds = EpochTicks.FloorDivide(EpochTicks.Get(this, value), TimeSpan.TicksPerSecond);
        if (seconds is < 0 or > uint.MaxValue)
            throw Reject(value, "is outside 1970-01-01 00:00:00..2106-02-07 06:28:15 UTC");
        RowBinary.WriteFixed(output, (ulong)seconds, 4);
    }
}
