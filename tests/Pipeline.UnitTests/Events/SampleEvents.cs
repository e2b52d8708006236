using System.Text;
using EventPipeline.Stages.Events;
using Xunit;

namespace EventPipeline.Tests.Events;

/// <summary>A valid JSON event with its fields editable one at a time, and field-by-field event comparison.</summary>
internal static class SampleEvents
{
    public const string EventId = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

    /// <summary>2024-06-10T06:13:20Z.</summary>
    public const long TimestampMs = 1_718_000_000_000;

    private static readonly (string Name, string RawValue)[] Fields =
    [
        ("event_id", $"\"{EventId}\""),
        ("app_id", "\"com.acme.puzzlequest\""),
        ("user_id", "\"u_00000000002a\""),
        ("event_name", "\"screen_view\""),
        ("event_timestamp", "1718000000000"),
        ("device_id", "\"9C1B2E0A-5D43-4F7E-8C55-2B5A1D2C3E4F\""),
        ("platform", "\"iOS\""),
        ("os_version", "\"17.5.1\""),
        ("app_version", "\"4.12.0\""),
        ("country", "\"us\""),
        ("revenue", "null"),
        ("properties", """{"screen":"home","session_depth":3}"""),
    ];

    /// <summary>
    /// The sample with some fields replaced by raw JSON values; a null value drops the field, an unknown name
    /// is appended.
    /// </summary>
    public static string Json(params (string Name, string? RawValue)[] overrides)
    {
        var members = new List<string>();
        foreach ((string name, string rawValue) in Fields)
        {
            int match = Array.FindIndex(overrides, o => o.Name == name);
            string? value = match < 0 ? rawValue : overrides[match].RawValue;
            if (value is not null)
            {
                members.Add($"\"{name}\":{value}");
            }
        }

        foreach ((string name, string? rawValue) in overrides)
        {
            if (rawValue is not null && Array.FindIndex(Fields, f => f.Name == name) < 0)
            {
                members.Add($"\"{name}\":{rawValue}");
            }
        }

        return "{" + string.Join(",", members) + "}";
    }

    public static DecodeResult Decode(string json, EventDecoderOptions? options = null) =>
        new EventDecoder(options ?? new EventDecoderOptions()).Decode(Encoding.UTF8.GetBytes(json));

    public static AnalyticsEvent DecodeOk(string json, EventDecoderOptions? options = null) => AssertOk(Decode(json, options));

    public static AnalyticsEvent AssertOk(DecodeResult result)
    {
        Assert.True(result.IsSuccess, result.Error?.ToString());
        return result.Event;
    }

    public static void AssertError(DecodeResult result, DecodeErrorKind kind, string reason)
    {
        Assert.False(result.IsSuccess, "decoded, expected " + reason);
        Assert.Equal(new DecodeError(kind, reason), result.Error);
    }

    public static void AssertErrorStartsWith(DecodeResult result, DecodeErrorKind kind, string reasonPrefix)
    {
        Assert.False(result.IsSuccess, "decoded, expected " + reasonPrefix);
        DecodeError error = result.Error!.Value;
        Assert.Equal(kind, error.Kind);
        Assert.StartsWith(reasonPrefix, error.Reason, StringComparison.Ordinal);
    }

    public static void AssertSameEvent(AnalyticsEvent expected, AnalyticsEvent actual)
    {
        Assert.Equal(expected.EventId, actual.EventId);
        Assert.Equal(expected.AppId, actual.AppId);
        Assert.Equal(expected.UserId, actual.UserId);
        Assert.Equal(expected.EventName, actual.EventName);
        Assert.Equal(expected.EventTimestampMs, actual.EventTimestampMs);
        Assert.Equal(expected.DeviceId, actual.DeviceId);
        Assert.Equal(expected.Platform, actual.Platform);
        Assert.Equal(expected.OsVersion, actual.OsVersion);
        Assert.Equal(expected.AppVersion, actual.AppVersion);
        Assert.Equal(expected.Country, actual.Country);
        Assert.Equal(expected.Revenue, actual.Revenue);
        Assert.Equal(expected.PropertiesJson, actual.PropertiesJson);
    }
}
