using System.Buffers;
using EventPipeline.Stages.ClickHouse;
using EventPipeline.Stages.Events;
using Xunit;

namespace EventPipeline.Tests.ClickHouse;

/// <summary>RowBinary bytes of one value as upper-case hex, so expectations read like a hex dump.</summary>
internal static class Encoded
{
    public static string Hex(string type, FieldValue value)
    {
        var output = new ArrayBufferWriter<byte>();
        ClickHouseType.Parse(type).Write(output, value);
        return Convert.ToHexString(output.WrittenSpan);
    }

    /// <summary>The message of the error writing <paramref name="value"/> into a column <c>c</c> of <paramref name="type"/>.</summary>
    public static string Error(string type, FieldValue value)
    {
        var parsed = ClickHouseType.Parse(type);
        var error = Assert.Throws<ColumnValueException>(() => parsed.Write(new ArrayBufferWriter<byte>(), value));
        return error.ForColumn("c", parsed.Name).Message;
    }
}
