using System.Text;
using EventPipeline.Stages.Events;
using Xunit;
using static EventPipeline.Tests.Events.SampleEvents;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Tests.Events;

public sealed class JsonEventDecodingTests
{
    [Fact]
    public void Decodes_every_field_and_normalises_platform_and_country()
    {
        AnalyticsEvent evt = DecodeOk(Json(("revenue", "4.99")));

        Assert.Equal(Guid.Parse(EventId), evt.EventId);
        Assert.Equal("com.acme.puzzlequest", evt.AppId);
        Assert.Equal("u_00000000002a", evt.UserId);
        Assert.Equal("screen_view", evt.EventName);
        Assert.Equal(TimestampMs, evt.EventTimestampMs);
        Assert.Equal("9C1B2E0A-5D43-4F7E-8C55-2B5A1D2C3E4F", evt.DeviceId);
        Assert.Equal("ios", evt.Platform);
        Assert.Equal("17.5.1", evt.OsVersion);
        Assert.Equal("4.12.0", evt.AppVersion);
        Assert.Equal("US", evt.Country);
        Assert.Equal(4.99, evt.Revenue);
        Assert.Equal("""{"screen":"home","session_depth":3}""", evt.PropertiesJson);
        Assert.Null(evt.PropertyValues);
    }

    [Fact]
    public void Optional_fields_default_when_absent_or_null()
    {
        AnalyticsEvent absent = DecodeOk(Json(("os_version", null), ("app_version", null), ("country", null), ("revenue", null), ("properties", null)));
        AnalyticsEvent nulls = DecodeOk(Json(("os_version", "null"), ("app_version", "null"), ("country", "null"), ("revenue", "null"), ("properties", "null")));

        foreach (AnalyticsEvent evt in new[] { absent, nulls })
        {
            Assert.Equal("", evt.OsVersion);
            Assert.Equal("", evt.AppVersion);
            Assert.Equal("", evt.Country);
            Assert.Null(evt.Revenue);
            Assert.Null(evt.PropertiesJson);
        }

        Assert.Equal("", DecodeOk(Json(("country", "\"\""))).Country);
    }

    [Theory]
    [InlineData("\"android\"", "android")]
    [InlineData("\"ANDROID\"", "android")]
    [InlineData("\"IOS\"", "ios")]
    [InlineData("\"\\u0069os\"", "ios")]
    public void Platform_is_case_insensitive(string raw, string expected) =>
        Assert.Equal(expected, DecodeOk(Json(("platform", raw))).Platform);

    [Theory]
    [InlineData("1718000000000", TimestampMs)]
    [InlineData("\"1718000000000\"", TimestampMs)]
    [InlineData("\"2024-06-10T06:13:20Z\"", TimestampMs)]
    [InlineData("\"2024-06-10T06:13:20.000Z\"", TimestampMs)]
    [InlineData("\"2024-06-10T11:43:20+05:30\"", TimestampMs)]
    [InlineData("\"2024-06-10T11:58:20.5+05:45\"", TimestampMs + 500)]
    [InlineData("\"2024-06-09T23:13:20.123-07:00\"", TimestampMs + 123)]
    [InlineData("\"2024-06-10T06:13:20.123456789Z\"", TimestampMs + 123)]
    [InlineData("\"2024-06-10T06:13:20.1+00:00\"", TimestampMs + 100)]
    [InlineData("\"2024-06-10T11:43:20+0530\"", TimestampMs)]
    [InlineData("\"2024-06-10t06:13:20z\"", TimestampMs)]
    [InlineData("\"2024-06-10 06:13:20Z\"", TimestampMs)]
    [InlineData("\"2024-02-29T00:00:00Z\"", 1_709_164_800_000)]
    [InlineData("\"1970-01-01T00:00:00Z\"", 0)]
    [InlineData("\"1970-01-01T05:30:00+05:30\"", 0)]
    [InlineData("\"2105-12-31T23:59:59.999Z\"", 4_291_747_199_999)]
    public void Reads_iso_and_epoch_timestamps(string raw, long expectedMs) =>
        Assert.Equal(expectedMs, DecodeOk(Json(("event_timestamp", raw))).EventTimestampMs);

    [Theory]
    [InlineData("\"2024-06-10T06:13:20\"", "event_timestamp: unparseable, expected ISO 8601 with offset or epoch milliseconds")]
    [InlineData("\"2024-06-10\"", "event_timestamp: unparseable, expected ISO 8601 with offset or epoch milliseconds")]
    [InlineData("\"2023-02-29T00:00:00Z\"", "event_timestamp: unparseable, expected ISO 8601 with offset or epoch milliseconds")]
    [InlineData("\"2024-06-10T24:00:00Z\"", "event_timestamp: unparseable, expected ISO 8601 with offset or epoch milliseconds")]
    [InlineData("\"2024-06-10T06:13:20.Z\"", "event_timestamp: unparseable, expected ISO 8601 with offset or epoch milliseconds")]
    [InlineData("\"2024-06-10T06:13:20+5:30\"", "event_timestamp: unparseable, expected ISO 8601 with offset or epoch milliseconds")]
    [InlineData("\"yesterday\"", "event_timestamp: unparseable, expected ISO 8601 with offset or epoch milliseconds")]
    [InlineData("\"\"", "event_timestamp: unparseable, expected ISO 8601 with offset or epoch milliseconds")]
    [InlineData("1718000000000.5", "event_timestamp: number is not integer epoch milliseconds")]
    [InlineData("1.718e12", "event_timestamp: number is not integer epoch milliseconds")]
    [InlineData("-1", "event_timestamp: outside 1970..2105")]
    [InlineData("\"-1\"", "event_timestamp: outside 1970..2105")]
    [InlineData("\"1969-12-31T23:59:59.999Z\"", "event_timestamp: outside 1970..2105")]
    [InlineData("\"2106-01-01T00:00:00Z\"", "event_timestamp: outside 1970..2105")]
    [InlineData("\"9999-12-31T23:59:59Z\"", "event_timestamp: outside 1970..2105")]
    [InlineData("1718000000", "event_timestamp: 1718000000 is 1970-01-20 as epoch milliseconds; it looks like epoch seconds (send milliseconds)")]
    [InlineData("\"1718000000\"", "event_timestamp: 1718000000 is 1970-01-20 as epoch milliseconds; it looks like epoch seconds (send milliseconds)")]
    [InlineData("99999999999", "event_timestamp: 99999999999 is 1973-03-03 as epoch milliseconds; it looks like epoch seconds (send milliseconds)")]
    public void Rejects_bad_timestamps(string raw, string reason) =>
        AssertError(Decode(Json(("event_timestamp", raw))), DecodeErrorKind.InvalidValue, reason);

    [Fact]
    public void Keeps_unicode_strings_raw_or_escaped()
    {
        AnalyticsEvent evt = DecodeOk(Json(
            ("app_id", "\"com.例子.app\""),
            ("user_id", "\"ユーザー🎮\""),
            ("event_name", "\"\\u00e9cran_vu\""),
            ("properties", """{"city":"Zürich","escaped":"caf\u00e9"}""")));

        Assert.Equal("com.例子.app", evt.AppId);
        Assert.Equal("ユーザー🎮", evt.UserId);
        Assert.Equal("écran_vu", evt.EventName);
        Assert.Equal("""{"city":"Zürich","escaped":"caf\u00e9"}""", evt.PropertiesJson);
    }

    [Fact]
    public void Compacts_properties_but_keeps_spaces_inside_strings()
    {
        AnalyticsEvent evt = DecodeOk(Json(("properties", "{ \"screen\" : \"main menu\" ,\n\t\"tags\" : [ \"a \\\" b\" , 1 ] }")));

        Assert.Equal("""{"screen":"main menu","tags":["a \" b",1]}""", evt.PropertiesJson);
    }

    [Fact]
    public void Accepts_bom_whitespace_escaped_names_and_ignores_unknown_fields()
    {
        string json = "\uFEFF \r\n" + Json(("extra", """{"nested":[1,{"event_id":"x"}],"n":null}"""), ("sdk_version", "\"7.1\""))
            .Replace("\"event_id\"", "\"event\\u005fid\"", StringComparison.Ordinal) + " \n";

        AnalyticsEvent evt = DecodeOk(json);

        Assert.Equal(Guid.Parse(EventId), evt.EventId);
    }

    [Fact]
    public void Rejects_duplicate_fields_even_when_one_is_escaped()
    {
        AssertError(Decode(Json(("extra", "1")).Replace("\"extra\"", "\"app\\u005fid\"", StringComparison.Ordinal)), DecodeErrorKind.Malformed, "duplicate field app_id");
        AssertError(Decode(Json(("extra", "1")).Replace("\"extra\":1", "\"revenue\":1", StringComparison.Ordinal)), DecodeErrorKind.Malformed, "duplicate field revenue");
    }

    [Theory]
    [InlineData("event_id", "42", DecodeErrorKind.WrongType, "event_id: expected a string, got a number")]
    [InlineData("event_id", "\"3f2504e0-4f89-41d3-9a0c-0305e82c330\"", DecodeErrorKind.InvalidValue, "event_id: invalid UUID")]
    [InlineData("event_id", "\"3f2504e04f8941d39a0c0305e82c3301\"", DecodeErrorKind.InvalidValue, "event_id: invalid UUID")]
    [InlineData("event_id", "\"{3f2504e0-4f89-41d3-9a0c-0305e82c3301}\"", DecodeErrorKind.InvalidValue, "event_id: invalid UUID")]
    [InlineData("event_id", "\"3f2504e0-4f89-41d3-9a0c-0305e82c330g\"", DecodeErrorKind.InvalidValue, "event_id: invalid UUID")]
    [InlineData("event_id", "\"00000000-0000-0000-0000-000000000000\"", DecodeErrorKind.InvalidValue, "event_id: nil UUID")]
    [InlineData("event_id", null, DecodeErrorKind.MissingField, "missing required field event_id")]
    [InlineData("app_id", "12345", DecodeErrorKind.WrongType, "app_id: expected a string, got a number")]
    [InlineData("app_id", "\"\"", DecodeErrorKind.InvalidValue, "app_id: empty")]
    [InlineData("app_id", "null", DecodeErrorKind.WrongType, "app_id: expected a string, got null")]
    [InlineData("user_id", null, DecodeErrorKind.MissingField, "missing required field user_id")]
    [InlineData("event_name", "[\"a\"]", DecodeErrorKind.WrongType, "event_name: expected a string, got an array")]
    [InlineData("event_timestamp", null, DecodeErrorKind.MissingField, "missing required field event_timestamp")]
    [InlineData("event_timestamp", "true", DecodeErrorKind.WrongType, "event_timestamp: expected a string or number, got a boolean")]
    [InlineData("device_id", "{}", DecodeErrorKind.WrongType, "device_id: expected a string, got an object")]
    [InlineData("device_id", null, DecodeErrorKind.MissingField, "missing required field device_id")]
    [InlineData("platform", "\"windows\"", DecodeErrorKind.InvalidValue, "platform: unknown platform, expected ios or android")]
    [InlineData("platform", "\"\"", DecodeErrorKind.InvalidValue, "platform: unknown platform, expected ios or android")]
    [InlineData("platform", "null", DecodeErrorKind.WrongType, "platform: expected a string, got null")]
    [InlineData("platform", null, DecodeErrorKind.MissingField, "missing required field platform")]
    [InlineData("os_version", "17", DecodeErrorKind.WrongType, "os_version: expected a string, got a number")]
    [InlineData("app_version", "false", DecodeErrorKind.WrongType, "app_version: expected a string, got a boolean")]
    [InlineData("country", "\"USA\"", DecodeErrorKind.InvalidValue, "country: not an ISO 3166-1 alpha-2 code")]
    [InlineData("country", "\"U1\"", DecodeErrorKind.InvalidValue, "country: not an ISO 3166-1 alpha-2 code")]
    [InlineData("country", "\"é\"", DecodeErrorKind.InvalidValue, "country: not an ISO 3166-1 alpha-2 code")]
    [InlineData("country", "1", DecodeErrorKind.WrongType, "country: expected a string, got a number")]
    [InlineData("revenue", "\"9.99\"", DecodeErrorKind.WrongType, "revenue: expected a number, got a string")]
    [InlineData("revenue", "1e400", DecodeErrorKind.InvalidValue, "revenue: number out of range")]
    [InlineData("properties", "\"{}\"", DecodeErrorKind.WrongType, "properties: expected an object, got a string")]
    [InlineData("properties", "[]", DecodeErrorKind.WrongType, "properties: expected an object, got an array")]
    public void Rejects_bad_fields_naming_them(string field, string? raw, DecodeErrorKind kind, string reason) =>
        AssertError(Decode(Json((field, raw))), kind, reason);

    [Fact]
    public void Missing_field_reason_names_the_first_missing_required_field() =>
        AssertError(Decode("{\"platform\":\"ios\"}"), DecodeErrorKind.MissingField, "missing required field event_id");

    [Theory]
    [InlineData("[1,2]", DecodeErrorKind.WrongType, "top level is an array, expected an object")]
    [InlineData("\"event\"", DecodeErrorKind.WrongType, "top level is a string, expected an object")]
    [InlineData("42", DecodeErrorKind.WrongType, "top level is a number, expected an object")]
    [InlineData("null", DecodeErrorKind.WrongType, "top level is null, expected an object")]
    [InlineData(" \t\r\n", DecodeErrorKind.Malformed, "empty payload")]
    [InlineData("\uFEFF", DecodeErrorKind.Malformed, "empty payload")]
    public void Rejects_payloads_that_are_not_one_object(string json, DecodeErrorKind kind, string reason) =>
        AssertError(Decode(json), kind, reason);

    [Theory]
    [InlineData(new byte[] { 0xEC, 0x11, 0x07, 0x01, 0x02 }, "model 7")]
    [InlineData(new byte[] { 0xEC, 0x11, 0xAC, 0x02, 0x01 }, "model 300")]
    [InlineData(new byte[] { 0xEC, 0x11, 0xFF }, "model unreadable id")]
    public void A_learned_codec_envelope_without_a_codec_is_rejected_with_its_own_kind(byte[] payload, string model) =>
        AssertError(new EventDecoder(new EventDecoderOptions()).Decode(payload), DecodeErrorKind.CodecNotConfigured,
            $"a learned-codec envelope ({model}) but no Codec:Models are configured");

    [Fact]
    public void Rejects_an_empty_payload() =>
        AssertError(new EventDecoder(new EventDecoderOptions()).Decode([]), DecodeErrorKind.Malformed, "empty payload");

    [Fact]
    public void Malformed_json_reports_the_byte_position()
    {
        string valid = Json();
        AssertErrorStartsWith(Decode(valid[..40]), DecodeErrorKind.Malformed, "malformed JSON at byte 40: ");
        AssertErrorStartsWith(Decode("{\"event_id\":x}"), DecodeErrorKind.Malformed, "malformed JSON at byte 12: ");
        AssertErrorStartsWith(Decode("{\n  \"event_id\": x}"), DecodeErrorKind.Malformed, "malformed JSON at byte 16: ");
        AssertErrorStartsWith(Decode("\uFEFF{\"a\":,}"), DecodeErrorKind.Malformed, "malformed JSON at byte 8: ");
        AssertErrorStartsWith(Decode(Json(("revenue", "NaN"))), DecodeErrorKind.Malformed, "malformed JSON at byte ");
        AssertErrorStartsWith(Decode(Json(("app_id", "\"line\nbreak\""))), DecodeErrorKind.Malformed, "malformed JSON at byte ");
        AssertErrorStartsWith(Decode(Json(("extra", "[1,]"))), DecodeErrorKind.Malformed, "malformed JSON at byte ");
        AssertErrorStartsWith(Decode(Json(("extra", new string('[', 65) + new string(']', 65)))), DecodeErrorKind.Malformed, "malformed JSON at byte ");
    }

    [Fact]
    public void Rejects_trailing_data_after_the_object_with_its_position()
    {
        string valid = Json();
        AssertError(Decode(valid + " x"), DecodeErrorKind.Malformed, $"trailing data after the JSON object at byte {valid.Length + 1}");
        AssertError(Decode(valid + valid), DecodeErrorKind.Malformed, $"trailing data after the JSON object at byte {valid.Length}");
        DecodeOk(valid + " \r\n\t");
    }

    [Fact]
    public void Rejects_invalid_utf8_in_strings_and_properties()
    {
        byte[] inAppId = WithByteAtMarker(Json(("app_id", "\"a~b\"")), 0xFF);
        byte[] inProperties = WithByteAtMarker(Json(("properties", "{\"k\":\"a~b\"}")), 0xC3);

        var decoder = new EventDecoder(new EventDecoderOptions());
        AssertError(decoder.Decode(inAppId), DecodeErrorKind.Malformed, "app_id: invalid UTF-8");
        AssertError(decoder.Decode(inProperties), DecodeErrorKind.Malformed, "properties: invalid UTF-8");
    }

    [Fact]
    public void Oversize_is_checked_before_parsing_at_exactly_the_limit()
    {
        byte[] payload = Encoding.UTF8.GetBytes(Json());

        AssertOk(new EventDecoder(new EventDecoderOptions { MaxMessageBytes = payload.Length }).Decode(payload));
        AssertError(
            new EventDecoder(new EventDecoderOptions { MaxMessageBytes = payload.Length - 1 }).Decode(payload),
            DecodeErrorKind.Oversize,
            $"payload of {payload.Length} bytes exceeds the limit of {payload.Length - 1}");
        AssertError(
            new EventDecoder(new EventDecoderOptions { MaxMessageBytes = 4 }).Decode("not json at all"u8),
            DecodeErrorKind.Oversize,
            "payload of 15 bytes exceeds the limit of 4");
    }

    [Fact]
    public void Default_limit_is_one_mebibyte() =>
        Assert.Equal(1024 * 1024, new EventDecoderOptions().MaxMessageBytes);

    [Fact]
    public void Options_reject_a_non_positive_limit() =>
        Assert.Throws<ArgumentOutOfRangeException>("MaxMessageBytes", () => new EventDecoderOptions { MaxMessageBytes = 0 });

    [Theory]
    [InlineData(JsonTimestampFormat.EpochMillis, 0)]
    [InlineData(JsonTimestampFormat.EpochMillisString, 0)]
    [InlineData(JsonTimestampFormat.Iso8601, 0)]
    [InlineData(JsonTimestampFormat.Iso8601, 330)]
    [InlineData(JsonTimestampFormat.Iso8601, -570)]
    public void Generated_events_round_trip_through_json(JsonTimestampFormat format, int utcOffsetMinutes)
    {
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = 7 });
        var decoder = new EventDecoder(new EventDecoderOptions());
        for (int i = 0; i < 500; i++)
        {
            AnalyticsEvent expected = generator.NextEvent();
            AssertSameEvent(expected, AssertOk(decoder.Decode(EventJsonWriter.Write(expected, format, utcOffsetMinutes))));
        }
    }

    [Fact]
    public void Decoder_is_safe_to_share_between_threads()
    {
        var decoder = new EventDecoder(new EventDecoderOptions { PropertyColumns = ["screen", "tags"] });
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = 3 });
        AnalyticsEvent[] events = [.. Enumerable.Range(0, 2_000).Select(_ => generator.NextEvent())];
        byte[][] payloads = [.. events.Select(e => EventJsonWriter.Write(e))];

        Parallel.For(0, 8, _ =>
        {
            for (int i = 0; i < payloads.Length; i++)
            {
                AssertSameEvent(events[i], AssertOk(decoder.Decode(payloads[i])));
            }
        });
    }

    private static byte[] WithByteAtMarker(string json, byte value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        bytes[Array.IndexOf(bytes, (byte)'~')] = value;
        return bytes;
    }
}
