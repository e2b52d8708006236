using EventPipeline.Stages.Events;
using Google.Protobuf;
using Xunit;
using static EventPipeline.Tests.Events.SampleEvents;
using ProtoEvent = EventPipeline.Stages.Proto.AnalyticsEvent;
using ProtoPlatform = EventPipeline.Stages.Proto.Platform;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Tests.Events;

public sealed class ProtobufEventDecodingTests
{
    // The header bytes Confluent's serializer wrote for the first and the second message type of a file (FACTS.md).
    private static readonly byte[] FirstMessageHeader = [0x00, 0x00, 0x00, 0x00, 0x01, 0x00];
    private static readonly byte[] SecondMessageHeader = [0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x02];

    private readonly EventDecoder _decoder = new(new EventDecoderOptions { PropertyColumns = ["screen", "level"] });

    [Fact]
    public void Decodes_the_first_message_type_and_normalises_like_json()
    {
        AnalyticsEvent evt = AssertOk(_decoder.Decode(Framed(FirstMessageHeader, Sample())));

        Assert.Equal(Guid.Parse(EventId), evt.EventId);
        Assert.Equal("com.acme.puzzlequest", evt.AppId);
        Assert.Equal("u_1", evt.UserId);
        Assert.Equal("purchase", evt.EventName);
        Assert.Equal(TimestampMs, evt.EventTimestampMs);
        Assert.Equal("dev-1", evt.DeviceId);
        Assert.Equal("android", evt.Platform);
        Assert.Equal("14", evt.OsVersion);
        Assert.Equal("2.0.1", evt.AppVersion);
        Assert.Equal("GB", evt.Country);
        Assert.Equal(1.99, evt.Revenue);
        Assert.Equal("""{"screen":"shop","level":3}""", evt.PropertiesJson);
        Assert.Equal("shop", evt.PropertyValues![0].Text);
        Assert.Equal(3, evt.PropertyValues[1].Int64);
    }

    [Fact]
    public void Rejects_the_second_message_type_naming_its_index_path() =>
        AssertError(
            _decoder.Decode(Framed(SecondMessageHeader, Sample())),
            DecodeErrorKind.UnsupportedFormat,
            "Protobuf message index [1] is not AnalyticsEvent (index [0])");

    [Fact]
    public void Rejects_a_nested_message_index_path() =>
        AssertError(
            _decoder.Decode(Framed([0, 0, 0, 0, 1, 0x04, 0x00, 0x02], Sample())),
            DecodeErrorKind.UnsupportedFormat,
            "Protobuf message index [0, 1] is not AnalyticsEvent (index [0])");

    [Fact]
    public void Accepts_the_long_form_of_index_zero() =>
        AssertOk(_decoder.Decode(Framed([0, 0, 0, 0, 1, 0x02, 0x00], Sample())));

    [Fact]
    public void Optional_fields_and_empty_properties_decode_as_absent()
    {
        ProtoEvent message = Sample();
        message.ClearRevenue();
        message.Country = "";
        message.OsVersion = "";
        message.PropertiesJson = "";

        AnalyticsEvent evt = AssertOk(_decoder.Decode(Framed(FirstMessageHeader, message)));

        Assert.Null(evt.Revenue);
        Assert.Equal("", evt.Country);
        Assert.Equal("", evt.OsVersion);
        Assert.Null(evt.PropertiesJson);
        Assert.All(evt.PropertyValues!, v => Assert.True(v.IsNull));
    }

    [Fact]
    public void Compacts_properties_json_and_keeps_a_compact_one_as_is()
    {
        ProtoEvent spaced = Sample();
        spaced.PropertiesJson = " { \"screen\" : \"main menu\" } ";

        Assert.Equal("""{"screen":"main menu"}""", AssertOk(_decoder.Decode(Framed(FirstMessageHeader, spaced))).PropertiesJson);
        Assert.Equal(Sample().PropertiesJson, AssertOk(_decoder.Decode(Framed(FirstMessageHeader, Sample()))).PropertiesJson);
    }

    public static TheoryData<string, Action<ProtoEvent>, DecodeErrorKind, string> BadFields => new()
    {
        { "no event_id", m => m.EventId = "", DecodeErrorKind.MissingField, "missing required field event_id" },
        { "no app_id", m => m.AppId = "", DecodeErrorKind.MissingField, "missing required field app_id" },
        { "no user_id", m => m.UserId = "", DecodeErrorKind.MissingField, "missing required field user_id" },
        { "no event_name", m => m.EventName = "", DecodeErrorKind.MissingField, "missing required field event_name" },
        { "no timestamp", m => m.EventTimestampMs = 0, DecodeErrorKind.MissingField, "missing required field event_timestamp_ms" },
        { "no device_id", m => m.DeviceId = "", DecodeErrorKind.MissingField, "missing required field device_id" },
        { "PLATFORM_UNSPECIFIED", m => m.Platform = ProtoPlatform.Unspecified, DecodeErrorKind.MissingField, "missing required field platform" },
        { "unknown platform", m => m.Platform = (ProtoPlatform)7, DecodeErrorKind.InvalidValue, "platform: unknown enum value 7" },
        { "bad uuid", m => m.EventId = "not-a-uuid", DecodeErrorKind.InvalidValue, "event_id: invalid UUID" },
        { "nil uuid", m => m.EventId = Guid.Empty.ToString(), DecodeErrorKind.InvalidValue, "event_id: nil UUID" },
        { "negative time", m => m.EventTimestampMs = -1, DecodeErrorKind.InvalidValue, "event_timestamp_ms: outside 1970..2105" },
        { "year 2106", m => m.EventTimestampMs = 4_291_747_200_000, DecodeErrorKind.InvalidValue, "event_timestamp_ms: outside 1970..2105" },
        { "epoch seconds", m => m.EventTimestampMs = 1_718_000_000, DecodeErrorKind.InvalidValue,
            "event_timestamp_ms: 1718000000 is 1970-01-20 as epoch milliseconds; it looks like epoch seconds (send milliseconds)" },
        { "bad country", m => m.Country = "GBR", DecodeErrorKind.InvalidValue, "country: not an ISO 3166-1 alpha-2 code" },
        { "NaN revenue", m => m.Revenue = double.NaN, DecodeErrorKind.InvalidValue, "revenue: not a finite number" },
        { "array properties", m => m.PropertiesJson = "[1]", DecodeErrorKind.WrongType, "properties_json: expected an object, got an array" },
        { "broken properties", m => m.PropertiesJson = "{\"a\":", DecodeErrorKind.Malformed, "properties_json: malformed JSON at byte 5: Expected depth to be zero at the end of the JSON payload. There is an open JSON object or array that should be closed." },
        { "two objects", m => m.PropertiesJson = "{}{}", DecodeErrorKind.Malformed, "properties_json: trailing data after the JSON object" },
        { "duplicate key", m => m.PropertiesJson = "{\"level\":1,\"level\":2}", DecodeErrorKind.Malformed, "properties_json: duplicate key 'level'" },
    };

    [Theory]
    [MemberData(nameof(BadFields))]
    public void Rejects_bad_fields_naming_them(string _, Action<ProtoEvent> change, DecodeErrorKind kind, string reason)
    {
        ProtoEvent message = Sample();
        change(message);

        AssertError(_decoder.Decode(Framed(FirstMessageHeader, message)), kind, reason);
    }

    [Fact]
    public void Rejects_broken_framing_and_bodies()
    {
        AssertError(_decoder.Decode([0, 0, 0, 1]), DecodeErrorKind.Malformed, "Confluent Protobuf header truncated: 4 bytes, need at least 6");
        AssertError(_decoder.Decode([0, 0, 0, 0, 1, 0x03, 0x02]), DecodeErrorKind.Malformed, "Confluent Protobuf header: bad message-index count");
        AssertError(
            _decoder.Decode([.. Framed(FirstMessageHeader, Sample()), 0x0A, 100]),
            DecodeErrorKind.Malformed,
            "invalid Protobuf body: While parsing a protocol message, the input ended unexpectedly in the middle of a field.");
        AssertError(
            _decoder.Decode([.. FirstMessageHeader, 0x0A, 0x02, 0xC3, 0x28]),
            DecodeErrorKind.Malformed,
            "invalid Protobuf body: String is invalid UTF-8.");
    }

    [Fact]
    public void Missing_body_is_a_missing_field() =>
        AssertError(_decoder.Decode(FirstMessageHeader), DecodeErrorKind.MissingField, "missing required field event_id");

    [Fact]
    public void Framing_can_be_turned_off() =>
        AssertError(
            new EventDecoder(new EventDecoderOptions { AcceptConfluentProtobuf = false }).Decode(Framed(FirstMessageHeader, Sample())),
            DecodeErrorKind.UnsupportedFormat,
            "Confluent Protobuf framing is not accepted");

    [Fact]
    public void Generated_events_round_trip_through_protobuf()
    {
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = 11 });
        var decoder = new EventDecoder(new EventDecoderOptions());
        for (int i = 0; i < 1_000; i++)
        {
            AnalyticsEvent expected = generator.NextEvent();
            AssertSameEvent(expected, AssertOk(decoder.Decode(EventGenerator.ToProtobufFramed(expected, schemaId: 1 + (i % 3)))));
        }
    }

    private static ProtoEvent Sample() => new()
    {
        EventId = EventId,
        AppId = "com.acme.puzzlequest",
        UserId = "u_1",
        EventName = "purchase",
        EventTimestampMs = TimestampMs,
        DeviceId = "dev-1",
        Platform = ProtoPlatform.Android,
        OsVersion = "14",
        AppVersion = "2.0.1",
        Country = "gb",
        Revenue = 1.99,
        PropertiesJson = """{"screen":"shop","level":3}""",
    };

    private static byte[] Framed(byte[] header, ProtoEvent message) => [.. header, .. message.ToByteArray()];
}
