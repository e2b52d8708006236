using System.Buffers;
using EventPipeline.Stages.Events;
using Xunit;

namespace EventPipeline.Tests.Events;

public sealed class ConfluentProtobufFramingTests
{
    [Theory]
    [InlineData(1, new[] { 0 }, "000000000100")]
    [InlineData(1, new[] { 1 }, "00000000010202")]
    [InlineData(0x01020304, new[] { 2, 3 }, "0001020304040406")]
    [InlineData(7, new[] { 0, 0 }, "0000000007040000")]
    [InlineData(-1, new[] { 300 }, "00ffffffff02d804")]
    public void Writes_and_reads_headers(int schemaId, int[] indexes, string hex)
    {
        var buffer = new ArrayBufferWriter<byte>();
        ConfluentProtobufFraming.WriteHeader(buffer, schemaId, indexes);
        Assert.Equal(hex, Convert.ToHexStringLower(buffer.WrittenSpan));

        byte[] framed = [.. buffer.WrittenSpan, 0x0A, 0x00];
        Span<int> read = stackalloc int[4];
        Assert.True(ConfluentProtobufFraming.TryReadHeader(framed, out int id, read, out int count, out int length, out string? error), error);
        Assert.Equal(schemaId, id);
        Assert.Equal(indexes, read[..count].ToArray());
        Assert.Equal(buffer.WrittenCount, length);
    }

    [Theory]
    [InlineData("", "Confluent Protobuf header truncated: 0 bytes, need at least 6")]
    [InlineData("0000000001", "Confluent Protobuf header truncated: 5 bytes, need at least 6")]
    [InlineData("01000000010a00", "Confluent Protobuf header: magic byte is 0x01, expected 0x00")]
    [InlineData("000000000101", "Confluent Protobuf header: bad message-index count")]
    [InlineData("0000000001ffffffffff", "Confluent Protobuf header: bad message-index count")]
    [InlineData("000000000102", "Confluent Protobuf header: bad message index at byte 6")]
    [InlineData("00000000010201", "Confluent Protobuf header: bad message index at byte 7")]
    [InlineData("0000000001020200000000", null)]
    [InlineData("00000000010a0000000000", "Confluent Protobuf header: message-index path of 5 entries is deeper than 4")]
    public void Rejects_bad_headers(string hex, string? reason)
    {
        Span<int> indexes = stackalloc int[4];
        bool ok = ConfluentProtobufFraming.TryReadHeader(Convert.FromHexString(hex), out _, indexes, out _, out _, out string? error);

        Assert.Equal(reason is null, ok);
        Assert.Equal(reason, error);
    }

    [Fact]
    public void Writing_an_empty_index_path_is_an_error() =>
        Assert.Throws<ArgumentException>("messageIndexes", () => ConfluentProtobufFraming.WriteHeader(new ArrayBufferWriter<byte>(), 1, []));
}
