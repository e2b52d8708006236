using EventPipeline.Stages.ClickHouse;
using EventPipeline.Stages.ClickHouse.Types;
using Xunit;

namespace EventPipeline.Tests.ClickHouse;

public class ClickHouseTypeParserTests
{
    [Theory]
    [InlineData("String", typeof(StringType))]
    [InlineData("FixedString(16)", typeof(FixedStringType))]
    [InlineData("UInt64", typeof(IntegerType))]
    [InlineData("Float32", typeof(FloatType))]
    [InlineData("Bool", typeof(BoolType))]
    [InlineData("Decimal(18, 4)", typeof(DecimalType))]
    [InlineData("Date", typeof(DateType))]
    [InlineData("DateTime", typeof(DateTimeType))]
    [InlineData("DateTime64(3)", typeof(DateTime64Type))]
    [InlineData("UUID", typeof(UuidType))]
    [InlineData("Enum16('a' = 1)", typeof(EnumType))]
    [InlineData("Nullable(String)", typeof(NullableType))]
    [InlineData("LowCardinality(String)", typeof(LowCardinalityType))]
    [InlineData("Array(String)", typeof(ArrayType))]
    public void Each_family_parses_to_its_class(string text, Type expected)
    {
        var type = ClickHouseType.Parse(text);
        Assert.IsType(expected, type);
        Assert.Equal(text, type.Name);
    }

    [Fact]
    public void Wrappers_nest()
    {
        var type = Assert.IsType<ArrayType>(ClickHouseType.Parse("Array(LowCardinality(Nullable(String)))"));
        var lowCardinality = Assert.IsType<LowCardinalityType>(type.Element);
        var nullable = Assert.IsType<NullableType>(lowCardinality.Inner);
        Assert.IsType<StringType>(nullable.Inner);
        Assert.Equal("Nullable(String)", nullable.Name);

        var nested = Assert.IsType<ArrayType>(Assert.IsType<ArrayType>(ClickHouseType.Parse("Array(Array(Decimal(9, 2)))")).Element);
        Assert.Equal(2, Assert.IsType<DecimalType>(nested.Element).Scale);
    }

    [Fact]
    public void Enum_names_keep_escaped_quotes_commas_and_parentheses()
    {
        var type = Assert.IsType<EnumType>(ClickHouseType.Parse(@"Enum8('c,d' = -2, 'a\'b' = 1, 'x (y)' = 3, 'back\\slash' = 4, '' = 5)"));
        Assert.Equal(1, type.Size);
        Assert.Equal(
            [new("c,d", -2), new("a'b", 1), new("x (y)", 3), new(@"back\slash", 4), new("", 5)],
            type.Values);
    }

    [Fact]
    public void Decimal_families_set_precision_scale_and_width()
    {
        AssertDecimal("Decimal32(4)", 9, 4, 4);
        AssertDecimal("Decimal64(6)", 18, 6, 8);
        AssertDecimal("Decimal128(10)", 38, 10, 16);
        AssertDecimal("Decimal(9, 2)", 9, 2, 4);
        AssertDecimal("Decimal(10, 0)", 10, 0, 8);
        AssertDecimal("Decimal(19, 3)", 19, 3, 16);

        static void AssertDecimal(string text, int precision, int scale, int size)
        {
            var type = Assert.IsType<DecimalType>(ClickHouseType.Parse(text));
            Assert.Equal((precision, scale, size), (type.Precision, type.Scale, type.Size));
        }
    }

    [Fact]
    public void Time_zones_and_precision_are_read()
    {
        Assert.Equal("Europe/Berlin", Assert.IsType<DateTimeType>(ClickHouseType.Parse("DateTime('Europe/Berlin')")).TimeZone);
        Assert.Null(Assert.IsType<DateTimeType>(ClickHouseType.Parse("DateTime")).TimeZone);
        var dateTime64 = Assert.IsType<DateTime64Type>(ClickHouseType.Parse("DateTime64(6, 'Asia/Tokyo')"));
        Assert.Equal((6, "Asia/Tokyo"), (dateTime64.Precision, dateTime64.TimeZone));
    }

    [Theory]
    [InlineData("Map(String, String)")]
    [InlineData("Int128")]
    [InlineData("Nullable(IPv4)")]
    [InlineData("Tuple(String, UInt8)")]
    [InlineData("Decimal256(10)")]
    public void Unsupported_types_are_named(string text)
    {
        var error = Assert.Throws<NotSupportedException>(() => ClickHouseType.Parse(text));
        Assert.Contains(text.StartsWith("Nullable") ? "IPv4" : text, error.Message);
    }

    [Theory]
    [InlineData("Nullable(String")]
    [InlineData("Array()")]
    [InlineData("Array(String, String)")]
    [InlineData("FixedString(x)")]
    [InlineData("FixedString(0)")]
    [InlineData("Enum8('a = 1)")]
    [InlineData("Enum8('a' = 1, 'b' = 1)")]
    [InlineData("Enum8('a' = 200)")]
    [InlineData("Decimal(9, 10)")]
    [InlineData("DateTime64(10)")]
    [InlineData("String(3)")]
    [InlineData("")]
    public void Malformed_types_are_format_errors(string text) =>
        Assert.Throws<FormatException>(() => ClickHouseType.Parse(text));
}
