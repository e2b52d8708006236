using EventPipeline.Stages.ClickHouse;
using EventPipeline.Stages.Events;
using Xunit;

namespace EventPipeline.Tests.ClickHouse;

public class EventRowEncoderTests
{
    private const string Describe =
        "event_id\tUUID\t\t\n" +
        "app_id\tString\t\t\n" +
        "event_timestamp\tDateTime64(3)\t\t\n" +
        "revenue\tNullable(Float64)\t\t\n" +
        "kafka_partition\tInt32\t\t\n" +
        "level\tUInt8\t\t\n" +
        "platform\tEnum8(\\'ios\\' = 1, \\'android\\' = 2)\t\t\n";

    private const string GoodRow =
        "7766554433221100FFEEDDCCBBAA9988" + "0161" + "7B68E5CF8B010000" + "01" + "07000000" + "03" + "02";

    private static readonly KafkaCoordinates Source = new("events", 7, 42, 1700000000000);

    private static readonly EventRowEncoder Encoder = new(TableMapping.Create(TableSchema.ParseDescribe(Describe)));

    private static AnalyticsEvent Event(string platform = "android", FieldValue[]? properties = null) => new()
    {
        EventId = Guid.Parse("00112233-4455-6677-8899-aabbccddeeff"),
        AppId = "a",
        EventTimestampMs = 1700000000123,
        Platform = platform,
        PropertyValues = properties ?? [FieldValue.FromInt64(3)],
    };

    [Fact]
    public void Writes_the_columns_in_table_order()
    {
        using var buffer = new PooledBufferWriter();

        Assert.True(Encoder.TryEncode(buffer, Event(), Source, out var error));

        Assert.Null(error);
        Assert.Equal(GoodRow, Convert.ToHexString(buffer.ToArray()));
    }

    [Fact]
    public void Missing_properties_are_nulls()
    {
        using var buffer = new PooledBufferWriter();

        Assert.True(Encoder.TryEncode(buffer, Event(properties: []), Source, out _));
        var withoutArray = Event();
        withoutArray.PropertyValues = null;
        Assert.True(Encoder.TryEncode(buffer, withoutArray, Source, out _));

        var rowWithZeroLevel = GoodRow[..^4] + "00" + "02";
        Assert.Equal(rowWithZeroLevel + rowWithZeroLevel, Convert.ToHexString(buffer.ToArray()));
    }

    [Fact]
    public void A_bad_value_rewinds_the_row_and_names_the_column()
    {
        using var buffer = new PooledBufferWriter();
        Assert.True(Encoder.TryEncode(buffer, Event(), Source, out _));

        Assert.False(Encoder.TryEncode(buffer, Event(platform: "windows"), Source, out var error));

        Assert.Equal("column 'platform' Enum8('ios' = 1, 'android' = 2): String 'windows' is not a declared value", error);
        Assert.Equal(GoodRow.Length / 2, buffer.Length);
        Assert.Equal(GoodRow, Convert.ToHexString(buffer.ToArray()));
        Assert.True(Encoder.TryEncode(buffer, Event(), Source, out _));
        Assert.Equal(GoodRow + GoodRow, Convert.ToHexString(buffer.ToArray()));
    }

    [Fact]
    public void Rewinding_across_segments_returns_them_and_keeps_earlier_rows()
    {
        using var buffer = new PooledBufferWriter(minSegmentSize: 16, maxSegmentSize: 16);
        for (var i = 0; i < 3; i++)
            Assert.True(Encoder.TryEncode(buffer, Event(), Source, out _));
        var segmentsBefore = buffer.SegmentCount;

        Assert.False(Encoder.TryEncode(buffer, Event(platform: "windows"), Source, out _));
        Assert.False(Encoder.TryEncode(buffer, Event(properties: [FieldValue.FromInt64(256)]), Source, out var error));

        Assert.Equal("column 'level' UInt8: Int64 256 is out of range [0, 255]", error);
        Assert.Equal(segmentsBefore, buffer.SegmentCount);
        Assert.Equal(string.Concat(Enumerable.Repeat(GoodRow, 3)), Convert.ToHexString(buffer.ToArray()));
        Assert.True(Encoder.TryEncode(buffer, Event(), Source, out _));
        Assert.Equal(string.Concat(Enumerable.Repeat(GoodRow, 4)), Convert.ToHexString(buffer.ToArray()));
    }

    [Fact]
    public void A_typical_event_allocates_nothing()
    {
        var encoder = new EventRowEncoder(TableMapping.Create(TableSchema.ParseDescribe(
            "event_id\tUUID\t\t\nevent_date\tDate\t\t\nevent_timestamp\tDateTime\t\t\napp_id\tLowCardinality(String)\t\t\n" +
            "user_id\tString\t\t\ncountry\tFixedString(2)\t\t\nrevenue\tNullable(Decimal(18, 4))\t\t\nproperties\tString\t\t\n" +
            "kafka_topic\tLowCardinality(String)\t\t\nkafka_offset\tUInt64\t\t\nlevel\tNullable(Int32)\t\t\ntags\tArray(String)\t\t\n")));
        var e = new AnalyticsEvent
        {
            EventId = Guid.NewGuid(), EventTimestampMs = 1700000000123, AppId = "app", UserId = "user-1", Country = "DE",
            Revenue = 1.99, PropertiesJson = "{\"level\":3}", PropertyValues = [FieldValue.FromInt64(3), FieldValue.FromStringArray(["x", "y"])],
        };
        using var buffer = new PooledBufferWriter(minSegmentSize: 1 << 20);
        Assert.True(encoder.TryEncode(buffer, e, Source, out _));

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
            encoder.TryEncode(buffer, e, Source, out _);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
    }
}
