using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using EventPipeline.Stages.Events;

namespace EventPipeline.Bench.E2e;

/// <summary>
/// The same event as JSON that ClickHouse 18.16's JSONEachRow reads into the events table: event_timestamp as
/// 'YYYY-MM-DD hh:mm:ss' (UTC), event_date, platform as the enum's name, properties as a JSON string, and the
/// Kafka coordinates as plain fields (18.16's Kafka engine has no _partition/_offset virtual columns). Our own
/// JSON carries epoch milliseconds or ISO 8601 with T..Z, which 18.16 cannot parse into DateTime, and one such
/// message stalls its Kafka engine for good.
/// </summary>
internal static class PeerJson
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The Kafka table's columns: exactly the events table's, so the view can SELECT *.</summary>
    public const string Columns = """
        event_id UUID, app_id String, user_id String, event_name String, event_timestamp DateTime, device_id String,
        platform Enum8('ios' = 1, 'android' = 2), os_version String, app_version String, country FixedString(2),
        revenue Nullable(Float64), properties String, event_date Date, kafka_partition UInt16, kafka_offset UInt64
        """;

    public static byte[] Write(AnalyticsEvent e, int partition, long offset)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            var time = DateTimeOffset.FromUnixTimeMilliseconds(e.EventTimestampMs).UtcDateTime;
            w.WriteStartObject();
            w.WriteString("event_id", e.EventId.ToString("D"));
            w.WriteString("app_id", e.AppId);
            w.WriteString("user_id", e.UserId);
            w.WriteString("event_name", e.EventName);
            w.WriteString("event_timestamp", time.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
            w.WriteString("device_id", e.DeviceId);
            w.WriteString("platform", e.Platform);
            w.WriteString("os_version", e.OsVersion);
            w.WriteString("app_version", e.AppVersion);
            w.WriteString("country", e.Country);
            if (e.Revenue is { } revenue)
                w.WriteNumber("revenue", revenue); // omitted when null: JSONEachRow fills the column's default, NULL
            w.WriteString("properties", e.PropertiesJson ?? "");
            w.WriteString("event_date", time.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            w.WriteNumber("kafka_partition", partition);
            w.WriteNumber("kafka_offset", offset);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
