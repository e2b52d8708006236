using Xunit;
using static EventPipeline.Stages.Events.FieldValue;

namespace EventPipeline.Tests.ClickHouse;

public class DateTypeTests
{
    private const long InstantMs = 1700000000123; // 2023-11-14T22:13:20.123Z

    [Fact]
    public void Date_is_days_since_epoch()
    {
        Assert.Equal("0B4D", Encoded.Hex("Date", FromTimestampMs(1704110400000))); // 2024-01-01T12:00Z, day 19723
        Assert.Equal("0B4D", Encoded.Hex("Date", FromString("2024-01-01")));
        Assert.Equal("0100", Encoded.Hex("Date", FromInt64(86400)));
        Assert.Equal("FFFF", Encoded.Hex("Date", FromString("2149-06-06T23:59:59Z")));
        Assert.Equal("0000", Encoded.Hex("Date", Null));
    }

    [Fact]
    public void Date_outside_its_range_is_rejected()
    {
        Assert.Equal("column 'c' Date: String '2149-06-07' is outside 1970-01-01..2149-06-06", Encoded.Error("Date", FromString("2149-06-07")));
        Assert.Equal("column 'c' Date: TimestampMs -1ms is outside 1970-01-01..2149-06-06", Encoded.Error("Date", FromTimestampMs(-1)));
    }

    [Theory]
    [InlineData("2023-11-14T22:13:20Z")]
    [InlineData("2023-11-14T22:13:20.999Z")]
    [InlineData("2023-11-15T00:13:20+02:00")]
    [InlineData("2023-11-14T22:13:20")]
    [InlineData("2023-11-14 22:13:20")]
    [InlineData("1700000000123")]
    public void DateTime_parses_iso_8601_and_epoch_millisecond_strings(string text) =>
        Assert.Equal("00F15365", Encoded.Hex("DateTime", FromString(text)));

    [Fact]
    public void DateTime_is_uint32_seconds_whatever_the_time_zone()
    {
        Assert.Equal("00F15365", Encoded.Hex("DateTime", FromTimestampMs(InstantMs)));
        Assert.Equal("00F15365", Encoded.Hex("DateTime('Europe/Berlin')", FromTimestampMs(InstantMs)));
        Assert.Equal("00F15365", Encoded.Hex("DateTime", FromInt64(1700000000)));
        Assert.Equal("FFFFFFFF", Encoded.Hex("DateTime", FromInt64(uint.MaxValue)));
        Assert.Equal("00000000", Encoded.Hex("DateTime", Null));
    }

    [Fact]
    public void DateTime_conversion_errors()
    {
        Assert.Equal("column 'c' DateTime: Int64 4294967296 is outside 1970-01-01 00:00:00..2106-02-07 06:28:15 UTC",
            Encoded.Error("DateTime", FromInt64(4294967296)));
        Assert.Equal("column 'c' DateTime: String 'yesterday' is not an ISO-8601 timestamp or epoch milliseconds",
            Encoded.Error("DateTime", FromString("yesterday")));
        Assert.Equal("column 'c' DateTime: String '99999999999999999999' is out of range", Encoded.Error("DateTime", FromString("99999999999999999999")));
        Assert.Equal("column 'c' DateTime: Int64 9223372036854775807 is out of range", Encoded.Error("DateTime", FromInt64(long.MaxValue)));
        Assert.Equal("column 'c' DateTime: Float64 1.5 cannot be converted", Encoded.Error("DateTime", FromFloat64(1.5)));
    }

    [Fact]
    public void DateTime64_counts_units_of_its_precision()
    {
        Assert.Equal("7B68E5CF8B010000", Encoded.Hex("DateTime64(3)", FromTimestampMs(InstantMs)));
        Assert.Equal("7B68E5CF8B010000", Encoded.Hex("DateTime64(3, 'UTC')", FromString("2023-11-14T22:13:20.123Z")));
        Assert.Equal("40222018240A0600", Encoded.Hex("DateTime64(6, 'Asia/Tokyo')", FromString("2023-11-15T07:13:20.123456+09:00")));
        Assert.Equal("C0D47E3DFE9C9717", Encoded.Hex("DateTime64(9)", FromTimestampMs(InstantMs)));
        Assert.Equal("00F1536500000000", Encoded.Hex("DateTime64(0)", FromTimestampMs(InstantMs)));
        Assert.Equal("FFFFFFFFFFFFFFFF", Encoded.Hex("DateTime64(0)", FromTimestampMs(-1)));
        Assert.Equal("0000000000000000", Encoded.Hex("DateTime64(6)", Null));
    }

    [Fact]
    public void DateTime64_beyond_int64_is_rejected() =>
        Assert.Equal("column 'c' DateTime64(9): String '9999-01-01' is out of range", Encoded.Error("DateTime64(9)", FromString("9999-01-01")));
}
