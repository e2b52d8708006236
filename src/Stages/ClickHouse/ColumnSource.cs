namespace EventPipeline.Stages.ClickHouse;

/// <summary>Where an inserted column's value comes from.</summary>
public enum ColumnSource
{
    EventId,
    AppId,
    UserId,
    EventName,
    EventTimestamp,
    DeviceId,
    Platform,
    OsVersion,
    AppVersion,
    Country,
    Revenue,
    Properties,
    KafkaTopic,
    KafkaPartition,
    KafkaOffset,
    KafkaTimestamp,

    /// <summary>A property of the event's properties object, read from <c>AnalyticsEvent.PropertyValues</c>.</summary>
    Property,
}
