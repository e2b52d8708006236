using System.Buffers;
using System.Text.Json;
using EventPipeline.Stages.Events;
using Xunit;
using static EventPipeline.Tests.Events.SampleEvents;

namespace EventPipeline.Tests.Events;

/// <summary>
/// Bytes framed by Confluent's own Protobuf serializer (fixtures/confluent-oracle/generate.sh), so the decoder
/// and <see cref="ConfluentProtobufFraming"/> are checked against code we did not write.
/// </summary>
public sealed class ConfluentSerializerOracleTests
{
    private const string FixturePath = "tests/Pipeline.UnitTests/Events/fixtures/confluent-protobuf.json";

    private static readonly JsonElement[] Cases = LoadCases();

    private readonly EventDecoder _decoder = new(new EventDecoderOptions { PropertyColumns = ["tags", "level"] });

    [Theory]
    [InlineData("full")]
    [InlineData("minimal")]
    public void Decodes_events_framed_by_confluents_serializer(string name)
    {
        JsonElement testCase = Case(name);
        JsonElement expected = testCase.GetProperty("expected");

        AnalyticsEvent evt = AssertOk(_decoder.Decode(Convert.FromHexString(testCase.GetProperty("hex").GetString()!)));

        Assert.Equal(Guid.Parse(expected.GetProperty("eventId").GetString()!), evt.EventId);
        Assert.Equal(expected.GetProperty("appId").GetString(), evt.AppId);
        Assert.Equal(expected.GetProperty("userId").GetString(), evt.UserId);
        Assert.Equal(expected.GetProperty("eventName").GetString(), evt.EventName);
        Assert.Equal(long.Parse(expected.GetProperty("eventTimestampMs").GetString()!), evt.EventTimestampMs);
        Assert.Equal(expected.GetProperty("deviceId").GetString(), evt.DeviceId);
        Assert.Equal(expected.GetProperty("platform").GetInt32() == 1 ? "ios" : "android", evt.Platform);
        Assert.Equal(Optional(expected, "osVersion") ?? "", evt.OsVersion);
        Assert.Equal(Optional(expected, "appVersion") ?? "", evt.AppVersion);
        Assert.Equal((Optional(expected, "country") ?? "").ToUpperInvariant(), evt.Country);
        Assert.Equal(expected.TryGetProperty("revenue", out JsonElement revenue) ? revenue.GetDouble() : null, evt.Revenue);
        Assert.Equal(Optional(expected, "propertiesJson"), evt.PropertiesJson);
    }

    [Fact]
    public void Extracts_properties_from_a_confluent_framed_event()
    {
        FieldValue[] values = AssertOk(_decoder.Decode(Convert.FromHexString(Case("full").GetProperty("hex").GetString()!))).PropertyValues!;

        Assert.Equal(["sale", "Zürich"], values[0].Array!);
        Assert.Equal(12, values[1].Int64);
    }

    [Fact]
    public void Rejects_the_second_message_type_of_the_file() =>
        AssertError(
            _decoder.Decode(Convert.FromHexString(Case("second_message_type").GetProperty("hex").GetString()!)),
            DecodeErrorKind.UnsupportedFormat,
            "Protobuf message index [1] is not AnalyticsEvent (index [0])");

    [Theory]
    [InlineData("full", 0)]
    [InlineData("second_message_type", 1)]
    public void Our_header_matches_the_serializers_bytes(string name, int messageIndex)
    {
        var ours = new ArrayBufferWriter<byte>();
        ConfluentProtobufFraming.WriteHeader(ours, schemaId: 1, [messageIndex]);

        Assert.StartsWith(Convert.ToHexStringLower(ours.WrittenSpan), Case(name).GetProperty("hex").GetString(), StringComparison.Ordinal);
    }

    private static JsonElement Case(string name) => Cases.Single(c => c.GetProperty("name").GetString() == name);

    private static string? Optional(JsonElement element, string name) =>
        element.TryGetProperty(name, out JsonElement value) ? value.GetString() : null;

    private static JsonElement[] LoadCases()
    {
        // The fixture stays in the source tree; find it from the test binaries, wherever the build put them.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, FixturePath);
            if (File.Exists(candidate))
            {
                using var document = JsonDocument.Parse(File.ReadAllBytes(candidate));
                return [.. document.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.Clone())];
            }
        }

        throw new FileNotFoundException($"{FixturePath} not found above {AppContext.BaseDirectory}");
    }
}
