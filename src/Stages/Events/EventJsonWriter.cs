using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace EventPipeline.Stages.Events;

/// <summary>How <see cref="EventJsonWriter.Write"/> writes event_timestamp: each is a form the decoder reads.</summary>
public enum JsonTimestampFormat
{
    /// <summary>A JSON number: 1718000000000.</summary>
    EpochMillis,

    /// <summary>A JSON string of digits: "1718000000000".</summary>
    EpochMillisString,

    /// <summary>"2024-06-10T06:13:20.000Z", or with a numeric offset such as +05:30.</summary>
    Iso8601,
}

/// <summary>
/// The canonical JSON form of an event, the one the decoder reads: what the codec sends for an event its model cannot
/// code, and what the codec's byte counts compare against. Its bytes are a contract: the shipped codec model and the
/// tests were measured against exactly this output, so the member order, escaping and number forms must not change.
/// </summary>
public static class EventJsonWriter
{
    /// <summary>Non-ASCII text stays as UTF-8 rather than \u escapes, as the producers we read write it.</summary>
    public static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The event as one compact JSON object; <paramref name="utcOffsetMinutes"/> applies to ISO 8601 only.</summary>
    public static byte[] Write(AnalyticsEvent evt, JsonTimestampFormat format = JsonTimestampFormat.EpochMillis, int utcOffsetMinutes = 0)
    {
        ArgumentNullException.ThrowIfNull(evt);
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, Options))
        {
            w.WriteStartObject();
            w.WriteString("event_id", evt.EventId.ToString("D"));
            w.WriteString("app_id", evt.AppId);
            w.WriteString("user_id", evt.UserId);
            w.WriteString("event_name", evt.EventName);
            WriteTimestamp(w, evt.EventTimestampMs, format, utcOffsetMinutes);
            w.WriteString("device_id", evt.DeviceId);
            w.WriteString("platform", evt.Platform);
            w.WriteString("os_version", evt.OsVersion);
            w.WriteString("app_version", evt.AppVersion);
            w.WriteString("country", evt.Country);
            if (evt.Revenue is { } revenue)
            {
                w.WriteNumber("revenue", revenue);
            }

            if (evt.PropertiesJson is { } properties)
            {
                w.WritePropertyName("properties");
                w.WriteRawValue(properties);
            }

            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteTimestamp(Utf8JsonWriter w, long epochMs, JsonTimestampFormat format, int utcOffsetMinutes)
    {
        switch (format)
        {
            case JsonTimestampFormat.EpochMillis:
                w.WriteNumber("event_timestamp", epochMs);
                break;
            case JsonTimestampFormat.EpochMillisString:
                w.WriteString("event_timestamp", epochMs.ToString(CultureInfo.InvariantCulture));
                break;
            default:
                DateTimeOffset time = DateTimeOffset.FromUnixTimeMilliseconds(epochMs).ToOffset(TimeSpan.FromMinutes(utcOffsetMinutes));
                string pattern = utcOffsetMinutes == 0 ? "yyyy-MM-dd'T'HH:mm:ss.fff'Z'" : "yyyy-MM-dd'T'HH:mm:ss.fffzzz";
                w.WriteString("event_timestamp", time.ToString(pattern, CultureInfo.InvariantCulture));
                break;
        }
    }
}
