using EventPipeline.Stages.Events;

namespace EventPipeline.Models.Codec;

/// <summary>
/// Whether two events are the same event, field by field: what the codec promises to preserve. Revenue is compared
/// by its bits (NaN payloads, -0.0); property column values are derived from the properties and not compared.
/// </summary>
public static class EventEquality
{
    public static bool Same(AnalyticsEvent a, AnalyticsEvent b) => Difference(a, b) is null;

    /// <summary>The first field that differs, or null.</summary>
    public static string? Difference(AnalyticsEvent a, AnalyticsEvent b)
    {
        if (a.EventId != b.EventId) return "event_id";
        if (!string.Equals(a.AppId, b.AppId, StringComparison.Ordinal)) return "app_id";
        if (!string.Equals(a.UserId, b.UserId, StringComparison.Ordinal)) return "user_id";
        if (!string.Equals(a.EventName, b.EventName, StringComparison.Ordinal)) return "event_name";
        if (a.EventTimestampMs != b.EventTimestampMs) return "event_timestamp";
        if (!string.Equals(a.DeviceId, b.DeviceId, StringComparison.Ordinal)) return "device_id";
        if (!string.Equals(a.Platform, b.Platform, StringComparison.Ordinal)) return "platform";
        if (!string.Equals(a.OsVersion, b.OsVersion, StringComparison.Ordinal)) return "os_version";
        if (!string.Equals(a.AppVersion, b.AppVersion, StringComparison.Ordinal)) return "app_version";
        if (!string.Equals(a.Country, b.Country, StringComparison.Ordinal)) return "country";
        if (a.Revenue.HasValue != b.Revenue.HasValue
            || (a.Revenue.HasValue && BitConverter.DoubleToInt64Bits(a.Revenue!.Value) != BitConverter.DoubleToInt64Bits(b.Revenue!.Value)))
            return "revenue";
        if (!string.Equals(a.PropertiesJson, b.PropertiesJson, StringComparison.Ordinal)) return "properties";
        return null;
    }
}
