using EventPipeline.Stages.Events;
using Xunit;
using static EventPipeline.Tests.Events.SampleEvents;

namespace EventPipeline.Tests.Events;

public sealed class PropertyExtractionTests
{
    private static readonly EventDecoderOptions Options = new()
    {
        PropertyColumns = ["screen", "level", "score", "first", "tags", "empty_tags", "nested", "mixed", "nothing", "absent", "huge", "label"],
    };

    private const string Properties = """
        { "screen": "home", "level": 7, "score": 12.5, "first": true, "tags": ["a", "東京"], "empty_tags": [],
          "nested": { "x": [1, 2], "screen": "inner" }, "mixed": [1, "a", null], "nothing": null,
          "huge": 9223372036854775808, "other": {"level": 99}, "label": "Zürich 🎮" }
        """;

    [Fact]
    public void Extracts_each_kind_of_value_in_column_order()
    {
        FieldValue[] values = DecodeOk(Json(("properties", Properties)), Options).PropertyValues!;

        Assert.Equal(Options.PropertyColumns.Count, values.Length);
        AssertText("home", values[0]);
        AssertValue(FieldKind.Int64, "7", values[1]);
        AssertValue(FieldKind.Float64, "12.5", values[2]);
        AssertValue(FieldKind.Bool, "true", values[3]);
        Assert.Equal(FieldKind.StringArray, values[4].Kind);
        Assert.Equal(["a", "東京"], values[4].Array!);
        Assert.Equal(FieldKind.StringArray, values[5].Kind);
        Assert.Empty(values[5].Array!);
        AssertText("""{"x":[1,2],"screen":"inner"}""", values[6]);
        AssertText("""[1,"a",null]""", values[7]);
        Assert.True(values[8].IsNull);
        Assert.True(values[9].IsNull);
        AssertValue(FieldKind.Float64, "9.223372036854776E+18", values[10]);
        AssertText("Zürich 🎮", values[11]);
    }

    [Fact]
    public void Keeps_the_whole_object_as_compact_text_while_extracting()
    {
        AnalyticsEvent evt = DecodeOk(Json(("properties", Properties)), Options);

        Assert.StartsWith("""{"screen":"home","level":7,"score":12.5,"first":true,"tags":["a","東京"],"empty_tags":[],""", evt.PropertiesJson);
        Assert.EndsWith(""","other":{"level":99},"label":"Zürich 🎮"}""", evt.PropertiesJson);
    }

    [Fact]
    public void Matches_escaped_keys()
    {
        FieldValue[] values = DecodeOk(Json(("properties", """{"sc\u0072een":"home","l\u0065vel":-3}""")), Options).PropertyValues!;

        AssertText("home", values[0]);
        AssertValue(FieldKind.Int64, "-3", values[1]);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("null")]
    [InlineData("{}")]
    public void Values_are_null_when_the_event_lacks_the_properties(string? properties)
    {
        FieldValue[] values = DecodeOk(Json(("properties", properties)), Options).PropertyValues!;

        Assert.Equal(Options.PropertyColumns.Count, values.Length);
        Assert.All(values, v => Assert.True(v.IsNull));
    }

    [Fact]
    public void Rejects_a_duplicate_extracted_key_but_not_a_duplicate_other_key()
    {
        AssertError(
            Decode(Json(("properties", """{"screen":"a","x":1,"scr\u0065en":"b"}""")), Options),
            DecodeErrorKind.Malformed,
            "properties: duplicate key 'screen'");
        DecodeOk(Json(("properties", """{"x":1,"x":2}""")), Options);
    }

    [Fact]
    public void Without_columns_nothing_is_extracted() =>
        Assert.Null(DecodeOk(Json(("properties", Properties))).PropertyValues);

    [Fact]
    public void Decoder_rejects_bad_column_lists()
    {
        Assert.Throws<ArgumentException>("PropertyColumns", () => new EventDecoder(new EventDecoderOptions { PropertyColumns = ["a", ""] }));
        Assert.Throws<ArgumentException>("PropertyColumns", () => new EventDecoder(new EventDecoderOptions { PropertyColumns = ["a", "b", "a"] }));
    }

    [Fact]
    public void Decoder_keeps_its_own_copy_of_the_column_list()
    {
        var columns = new List<string> { "screen" };
        var decoder = new EventDecoder(new EventDecoderOptions { PropertyColumns = columns });
        columns[0] = "level";

        Assert.Equal(["screen"], decoder.Options.PropertyColumns);
        AssertText("home", AssertOk(decoder.Decode(System.Text.Encoding.UTF8.GetBytes(Json()))).PropertyValues![0]);
    }

    [Fact]
    public void Fills_the_values_of_an_event_decoded_elsewhere_as_decoding_its_json_would()
    {
        var decoder = new EventDecoder(Options);
        AnalyticsEvent fromJson = DecodeOk(Json(("properties", Properties)), Options);
        var rebuilt = new AnalyticsEvent { PropertiesJson = fromJson.PropertiesJson };

        Assert.Null(decoder.FillPropertyValues(rebuilt));

        Assert.Equal(fromJson.PropertyValues!.Select(v => (v.Kind, v.ToString())), rebuilt.PropertyValues!.Select(v => (v.Kind, v.ToString())));
        Assert.Equal(fromJson.PropertiesJson, rebuilt.PropertiesJson);
    }

    [Fact]
    public void Filling_values_without_properties_gives_nulls_and_without_columns_does_nothing()
    {
        var withoutProperties = new AnalyticsEvent();
        Assert.Null(new EventDecoder(Options).FillPropertyValues(withoutProperties));
        Assert.All(withoutProperties.PropertyValues!, v => Assert.True(v.IsNull));

        var withoutColumns = new AnalyticsEvent { PropertiesJson = """{"screen":"home"}""" };
        Assert.Null(new EventDecoder(new EventDecoderOptions()).FillPropertyValues(withoutColumns));
        Assert.Null(withoutColumns.PropertyValues);
    }

    [Theory]
    [InlineData("[1,2]", DecodeErrorKind.WrongType, "properties: expected an object, got an array")]
    [InlineData("""{"screen":"a","screen":"b"}""", DecodeErrorKind.Malformed, "properties: duplicate key 'screen'")]
    [InlineData("""{"screen":"a"} {}""", DecodeErrorKind.Malformed, "properties: trailing data after the JSON object")]
    public void Filling_values_reports_properties_that_do_not_fit(string properties, DecodeErrorKind kind, string reason)
    {
        var error = new EventDecoder(Options).FillPropertyValues(new AnalyticsEvent { PropertiesJson = properties });

        Assert.Equal(new DecodeError(kind, reason), error);
    }

    private static void AssertText(string text, FieldValue value)
    {
        Assert.Equal(FieldKind.String, value.Kind);
        Assert.Equal(text, value.Text);
    }

    private static void AssertValue(FieldKind kind, string text, FieldValue value)
    {
        Assert.Equal(kind, value.Kind);
        Assert.Equal(text, value.ToString());
    }
}
