using Xunit;
using static EventPipeline.Stages.Events.FieldValue;

namespace EventPipeline.Tests.ClickHouse;

public class TextTypeTests
{
    [Fact]
    public void String_is_varint_length_then_utf8()
    {
        Assert.Equal("0668C3A96C6C6F", Encoded.Hex("String", FromString("héllo")));
        Assert.Equal("00", Encoded.Hex("String", FromString("")));
        Assert.Equal("00", Encoded.Hex("String", Null));
        Assert.Equal("C801" + string.Concat(Enumerable.Repeat("61", 200)), Encoded.Hex("String", FromString(new string('a', 200))));
    }

    [Fact]
    public void String_takes_every_scalar_in_invariant_text()
    {
        Assert.Equal(Utf8("-5"), Encoded.Hex("String", FromInt64(-5)));
        Assert.Equal(Utf8("0.1"), Encoded.Hex("String", FromFloat64(0.1)));
        Assert.Equal(Utf8("1E-07"), Encoded.Hex("String", FromFloat64(1e-7)));
        Assert.Equal(Utf8("true"), Encoded.Hex("String", FromBool(true)));
        Assert.Equal(Utf8("2023-11-14T22:13:20.123Z"), Encoded.Hex("String", FromTimestampMs(1700000000123)));
        Assert.Equal(Utf8("00112233-4455-6677-8899-aabbccddeeff"), Encoded.Hex("String", FromUuid(Guid.Parse("00112233-4455-6677-8899-aabbccddeeff"))));
        Assert.Equal("column 'c' String: StringArray cannot be converted", Encoded.Error("String", FromStringArray(["a"])));
        Assert.Equal("column 'c' String: TimestampMs 9223372036854775807ms cannot be converted", Encoded.Error("String", FromTimestampMs(long.MaxValue)));
    }

    [Fact]
    public void FixedString_pads_with_zeros_and_refuses_longer_values()
    {
        Assert.Equal("616200", Encoded.Hex("FixedString(3)", FromString("ab")));
        Assert.Equal("616263", Encoded.Hex("FixedString(3)", FromString("abc")));
        Assert.Equal("C3A900", Encoded.Hex("FixedString(3)", FromString("é")));
        Assert.Equal("000000", Encoded.Hex("FixedString(3)", Null));
        Assert.Equal("313200", Encoded.Hex("FixedString(3)", FromInt64(12)));
        Assert.Equal("column 'c' FixedString(3): String 'abcd' is 4 bytes, longer than 3", Encoded.Error("FixedString(3)", FromString("abcd")));
        Assert.Equal("column 'c' FixedString(2): Int64 123 is 3 bytes as text, longer than 2", Encoded.Error("FixedString(2)", FromInt64(123)));
    }

    [Fact]
    public void Uuid_writes_each_half_of_the_text_form_reversed()
    {
        var expected = "7766554433221100" + "FFEEDDCCBBAA9988";
        Assert.Equal(expected, Encoded.Hex("UUID", FromUuid(Guid.Parse("00112233-4455-6677-8899-aabbccddeeff"))));
        Assert.Equal(expected, Encoded.Hex("UUID", FromString("00112233-4455-6677-8899-aabbccddeeff")));
        Assert.Equal(new string('0', 32), Encoded.Hex("UUID", Null));
        Assert.Equal("column 'c' UUID: String 'nope' is not a UUID", Encoded.Error("UUID", FromString("nope")));
        Assert.Equal("column 'c' UUID: Int64 1 cannot be converted", Encoded.Error("UUID", FromInt64(1)));
    }

    [Fact]
    public void Enum_writes_the_declared_value()
    {
        const string enum8 = @"Enum8('a\'b' = 1, 'c,d' = -2)";
        Assert.Equal("FE", Encoded.Hex(enum8, FromString("c,d")));
        Assert.Equal("01", Encoded.Hex(enum8, FromString("a'b")));
        Assert.Equal("FE", Encoded.Hex(enum8, FromInt64(-2)));
        Assert.Equal("D4FE", Encoded.Hex("Enum16('x' = -300, 'y' = 1000)", FromString("x")));
        Assert.Equal("E803", Encoded.Hex("Enum16('x' = -300, 'y' = 1000)", FromInt64(1000)));
    }

    [Fact]
    public void Enum_refuses_undeclared_names_values_and_nulls()
    {
        const string platform = "Enum8('ios' = 1, 'android' = 2)";
        Assert.Equal("column 'c' Enum8('ios' = 1, 'android' = 2): String 'windows' is not a declared value", Encoded.Error(platform, FromString("windows")));
        Assert.Equal("column 'c' Enum8('ios' = 1, 'android' = 2): String 'IOS' is not a declared value", Encoded.Error(platform, FromString("IOS")));
        Assert.Equal("column 'c' Enum8('ios' = 1, 'android' = 2): Int64 3 is not a declared value", Encoded.Error(platform, FromInt64(3)));
        Assert.Equal("column 'c' Enum8('ios' = 1, 'android' = 2): Int64 100000 is not a declared value", Encoded.Error(platform, FromInt64(100000)));
        Assert.Equal("column 'c' Enum8('ios' = 1, 'android' = 2): Null is not a declared value", Encoded.Error(platform, Null));
        Assert.Equal("column 'c' Enum8('ios' = 1, 'android' = 2): Float64 1 cannot be converted", Encoded.Error(platform, FromFloat64(1)));
    }

    [Fact]
    public void Long_values_are_cut_to_100_characters_in_messages()
    {
        var message = Encoded.Error("FixedString(2)", FromString(new string('x', 5000)));
        Assert.Equal($"column 'c' FixedString(2): String '{new string('x', 100)}...' is 5000 bytes, longer than 2", message);
    }

    private static string Utf8(string text) =>
        Convert.ToHexString([(byte)text.Length, .. System.Text.Encoding.UTF8.GetBytes(text)]);
}
