using EventPipeline.Stages.ExactlyOnce;

namespace EventPipeline.Tests.Flow;

public sealed class OffsetRangeTests
{
    [Fact]
    public void Lists_round_trip_through_their_ledger_text()
    {
        var ranges = new List<OffsetRange> { new(0, 0), new(1, 99), new(100, 12_345_678_901) };
        Assert.Equal("0-0,1-99,100-12345678901", OffsetRange.Format(ranges));
        Assert.Equal(ranges, OffsetRange.ParseList(OffsetRange.Format(ranges)));
        Assert.Empty(OffsetRange.ParseList(""));
    }

    [Theory]
    [InlineData("5")]
    [InlineData("-5")]
    [InlineData("9-3")]
    [InlineData("a-b")]
    [InlineData("1-2,x")]
    [InlineData("+1-2")]
    public void Anything_else_is_refused(string text) => Assert.Throws<FormatException>(() => OffsetRange.ParseList(text));
}
