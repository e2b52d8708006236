using Xunit;
using static EventPipeline.Stages.Events.FieldValue;

namespace EventPipeline.Tests.ClickHouse;

public class NumericTypeTests
{
    [Theory]
    [InlineData("Int8", -128, "80")]
    [InlineData("Int8", 127, "7F")]
    [InlineData("Int16", 0x1234, "3412")]
    [InlineData("Int32", -2, "FEFFFFFF")]
    [InlineData("Int64", long.MinValue, "0000000000000080")]
    [InlineData("UInt8", 255, "FF")]
    [InlineData("UInt16", 65535, "FFFF")]
    [InlineData("UInt32", 4294967295, "FFFFFFFF")]
    [InlineData("UInt64", long.MaxValue, "FFFFFFFFFFFFFF7F")]
    public void Integers_are_little_endian_at_their_width(string type, long value, string hex) =>
        Assert.Equal(hex, Encoded.Hex(type, FromInt64(value)));

    [Fact]
    public void Integers_accept_strings_integral_doubles_bools_and_timestamps()
    {
        Assert.Equal("FFFFFFFFFFFFFFFF", Encoded.Hex("UInt64", FromString("18446744073709551615")));
        Assert.Equal("2A00", Encoded.Hex("Int16", FromString("42")));
        Assert.Equal("D6FF", Encoded.Hex("Int16", FromString("-42")));
        Assert.Equal("03000000", Encoded.Hex("Int32", FromFloat64(3.0)));
        Assert.Equal("01", Encoded.Hex("UInt8", FromBool(true)));
        Assert.Equal("7B68E5CF8B010000", Encoded.Hex("Int64", FromTimestampMs(1700000000123)));
        Assert.Equal("00000000", Encoded.Hex("UInt32", Null));
    }

    [Theory]
    [InlineData("Int8", 128)]
    [InlineData("Int8", -129)]
    [InlineData("UInt8", -1)]
    [InlineData("UInt64", -1)]
    [InlineData("Int32", 2147483648)]
    public void Integers_out_of_range_are_rejected(string type, long value) =>
        Assert.StartsWith($"column 'c' {type}: Int64 {value} is out of range [", Encoded.Error(type, FromInt64(value)));

    [Fact]
    public void Integer_conversion_errors_name_value_and_reason()
    {
        Assert.Equal("column 'c' Int32: Float64 2.5 is not an integer", Encoded.Error("Int32", FromFloat64(2.5)));
        Assert.Equal("column 'c' Int32: Float64 NaN is not an integer", Encoded.Error("Int32", FromFloat64(double.NaN)));
        Assert.Equal("column 'c' UInt64: Float64 1.8446744073709552E+19 is out of range [0, 18446744073709551615]",
            Encoded.Error("UInt64", FromFloat64(18446744073709551616.0)));
        Assert.Equal("column 'c' Int16: String '4x' is not an integer", Encoded.Error("Int16", FromString("4x")));
        Assert.Equal("column 'c' UInt64: String '18446744073709551616' is out of range [0, 18446744073709551615]",
            Encoded.Error("UInt64", FromString("18446744073709551616")));
        Assert.Equal("column 'c' Int64: Uuid 00000000-0000-0000-0000-000000000000 cannot be converted", Encoded.Error("Int64", FromUuid(Guid.Empty)));
        Assert.Equal("column 'c' Int64: StringArray cannot be converted", Encoded.Error("Int64", FromStringArray(["1"])));
    }

    [Fact]
    public void Floats_are_IEEE_little_endian()
    {
        Assert.Equal("0000C03F", Encoded.Hex("Float32", FromFloat64(1.5)));
        Assert.Equal("00000000000004C0", Encoded.Hex("Float64", FromString("-2.5")));
        Assert.Equal("0000000000000040", Encoded.Hex("Float64", FromInt64(2)));
        Assert.Equal("000000000000F03F", Encoded.Hex("Float64", FromBool(true)));
        Assert.Equal("0000807F", Encoded.Hex("Float32", FromFloat64(double.PositiveInfinity)));
        Assert.Equal("0000000000000000", Encoded.Hex("Float64", Null));
    }

    [Fact]
    public void Float_conversion_errors()
    {
        Assert.Equal("column 'c' Float32: Float64 1E+300 is out of Float32 range", Encoded.Error("Float32", FromFloat64(1e300)));
        Assert.Equal("column 'c' Float64: String 'abc' is not a number", Encoded.Error("Float64", FromString("abc")));
        Assert.Equal("column 'c' Float64: TimestampMs 5ms cannot be converted", Encoded.Error("Float64", FromTimestampMs(5)));
    }

    [Fact]
    public void Bool_is_one_byte()
    {
        Assert.Equal("01", Encoded.Hex("Bool", FromBool(true)));
        Assert.Equal("00", Encoded.Hex("Bool", FromString("false")));
        Assert.Equal("01", Encoded.Hex("Bool", FromInt64(1)));
        Assert.Equal("00", Encoded.Hex("Bool", Null));
        Assert.Equal("column 'c' Bool: Int64 2 is not a boolean", Encoded.Error("Bool", FromInt64(2)));
        Assert.Equal("column 'c' Bool: Float64 1 cannot be converted", Encoded.Error("Bool", FromFloat64(1)));
    }

    [Theory]
    [InlineData("Decimal(9, 2)", "123.45", "39300000")]
    [InlineData("Decimal32(2)", "-1.5", "6AFFFFFF")]
    [InlineData("Decimal(9, 2)", "1.50", "96000000")]
    [InlineData("Decimal(9, 2)", "1e2", "10270000")]
    [InlineData("Decimal(9, 2)", "-0.01", "FFFFFFFF")]
    [InlineData("Decimal(9, 2)", "9999999.99", "FFC99A3B")]
    [InlineData("Decimal64(4)", "-99999999999999.9999", "01009C584C491FF2")]
    [InlineData("Decimal128(10)", "-12345678901234567890.0123456789", "EB2AFBF3111F8C3C09F01671FEFFFFFF")]
    [InlineData("Decimal(38, 0)", "99999999999999999999999999999999999999", "FFFFFFFF3F228A097AC4865AA84C3B4B")]
    public void Decimal_strings_are_scaled_exactly(string type, string text, string hex) =>
        Assert.Equal(hex, Encoded.Hex(type, FromString(text)));

    [Fact]
    public void Decimal_from_numbers_rounds_doubles_half_away_from_zero()
    {
        Assert.Equal("1127000000000000", Encoded.Hex("Decimal64(4)", FromFloat64(1.00005)));
        Assert.Equal("65000000", Encoded.Hex("Decimal(9, 2)", FromFloat64(1.005)));
        Assert.Equal("9BFFFFFF", Encoded.Hex("Decimal(9, 2)", FromFloat64(-1.005)));
        Assert.Equal("1E000000", Encoded.Hex("Decimal(9, 2)", FromFloat64(0.1 + 0.2)));
        Assert.Equal("00000000", Encoded.Hex("Decimal(9, 2)", FromFloat64(1e-50)));
        Assert.Equal("18FCFFFF", Encoded.Hex("Decimal(9, 2)", FromInt64(-10)));
        Assert.Equal("00000000000000000000000000000000", Encoded.Hex("Decimal128(3)", Null));
    }

    [Fact]
    public void Decimal_conversion_errors()
    {
        Assert.Equal("column 'c' Decimal(9, 2): String '1.234' has more than 2 fraction digits", Encoded.Error("Decimal(9, 2)", FromString("1.234")));
        Assert.Equal("column 'c' Decimal(9, 2): String '12345678.9' exceeds precision 9", Encoded.Error("Decimal(9, 2)", FromString("12345678.9")));
        Assert.Equal("column 'c' Decimal(9, 2): Int64 10000000 exceeds precision 9", Encoded.Error("Decimal(9, 2)", FromInt64(10_000_000)));
        Assert.Equal("column 'c' Decimal(9, 2): Float64 9999999.995 exceeds precision 9", Encoded.Error("Decimal(9, 2)", FromFloat64(9999999.995)));
        Assert.Equal("column 'c' Decimal(9, 2): String '1.2.3' is not a decimal number", Encoded.Error("Decimal(9, 2)", FromString("1.2.3")));
        Assert.Equal("column 'c' Decimal(9, 2): String '' is not a decimal number", Encoded.Error("Decimal(9, 2)", FromString("")));
        Assert.Equal("column 'c' Decimal(9, 2): Float64 NaN is not a finite number", Encoded.Error("Decimal(9, 2)", FromFloat64(double.NaN)));
        Assert.Equal("column 'c' Decimal(9, 2): Bool true cannot be converted", Encoded.Error("Decimal(9, 2)", FromBool(true)));
        Assert.Equal("column 'c' Decimal(38, 0): String '1e38' exceeds precision 38", Encoded.Error("Decimal(38, 0)", FromString("1e38")));
    }
}
