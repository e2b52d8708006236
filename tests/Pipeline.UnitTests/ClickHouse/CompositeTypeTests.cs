using Xunit;
using static EventPipeline.Stages.Events.FieldValue;

namespace EventPipeline.Tests.ClickHouse;

public class CompositeTypeTests
{
    [Fact]
    public void Nullable_prefixes_a_null_flag()
    {
        Assert.Equal("01", Encoded.Hex("Nullable(Int32)", Null));
        Assert.Equal("0005000000", Encoded.Hex("Nullable(Int32)", FromInt64(5)));
        Assert.Equal("01", Encoded.Hex("Nullable(Enum8('a' = 1))", Null));
        Assert.Equal("column 'c' Nullable(Int8): Int64 300 is out of range [-128, 127]", Encoded.Error("Nullable(Int8)", FromInt64(300)));
    }

    [Fact]
    public void LowCardinality_is_written_as_its_inner_type()
    {
        Assert.Equal("01", Encoded.Hex("LowCardinality(Nullable(String))", Null));
        Assert.Equal("000161", Encoded.Hex("LowCardinality(Nullable(String))", FromString("a")));
        Assert.Equal("0161", Encoded.Hex("LowCardinality(String)", FromString("a")));
        Assert.Equal("00", Encoded.Hex("LowCardinality(String)", Null));
    }

    [Fact]
    public void Array_is_count_then_elements()
    {
        Assert.Equal("020161026263", Encoded.Hex("Array(String)", FromStringArray(["a", "bc"])));
        Assert.Equal("00", Encoded.Hex("Array(String)", FromStringArray([])));
        Assert.Equal("00", Encoded.Hex("Array(String)", Null));
        Assert.Equal("0201000161", Encoded.Hex("Array(Nullable(String))", FromStringArray([null!, "a"])));
        Assert.Equal("020102", Encoded.Hex("Array(UInt8)", FromStringArray(["1", "2"])));
        Assert.Equal("02E8030000D4FEFFFF", Encoded.Hex("Array(Int32)", FromStringArray(["1000", "-300"])));
        Assert.Equal("00", Encoded.Hex("Array(Array(String))", Null));
        Assert.Equal("020000", Encoded.Hex("Array(Array(String))", FromStringArray([null!, null!])));
    }

    [Fact]
    public void Array_errors_name_the_element()
    {
        Assert.Equal("column 'c' Array(Int32): StringArray element [1]: String 'x' is not an integer",
            Encoded.Error("Array(Int32)", FromStringArray(["1", "x"])));
        Assert.Equal("column 'c' Array(Array(String)): StringArray element [0]: String 'a' cannot be converted",
            Encoded.Error("Array(Array(String))", FromStringArray(["a"])));
        Assert.Equal("column 'c' Array(String): String 'a' cannot be converted", Encoded.Error("Array(String)", FromString("a")));
    }
}
