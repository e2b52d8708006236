namespace EventPipeline.Stages.Events;

/// <summary>
/// One mobile analytics / attribution event after decoding, whatever its wire format (JSON or Protobuf).
/// A mutable class rather than a record: the decoder fills it field by field without intermediate copies.
/// </summary>
public sealed class AnalyticsEvent
{
    public Guid EventId { get; set; }
    public string AppId { get; set; } = "";
    public string UserId { get; set; } = "";
    public string EventName { get; set; } = "";

    /// <summary>Event time as UTC epoch milliseconds (the JSON form may carry ISO-8601 or epoch ms).</summary>
    public long EventTimestampMs { get; set; }

    public string DeviceId { get; set; } = "";

    /// <summary>"ios" or "android", lower case.</summary>
    public string Platform { get; set; } = "";

    public string OsVersion { get; set; } = "";
    public string AppVersion { get; set; } = "";

    /// <summary>ISO 3166-1 alpha-2 code, upper case.</summary>
    public string Country { get; set; } = "";

    public double? Revenue { get; set; }

    /// <summary>The properties object as compact JSON text, or null when the event has none.</summary>
    public string? PropertiesJson { get; set; }

    /// <summary>
    /// Values of the properties the target table has columns for (see <c>TableMapping.PropertyColumns</c>),
    /// in that order; <see cref="FieldValue.Null"/> where the event lacks the property. Null when the table
    /// maps no property columns.
    /// </summary>
    public FieldValue[]? PropertyValues { get; set; }
}
