using EventPipeline.Stages.Events;

namespace EventPipeline.Stages.ClickHouse;

/// <summary>An inserted column: its name, parsed type and the source that fills it.</summary>
public sealed class MappedColumn
{
    internal MappedColumn(string name, ClickHouseType type, ColumnSource source, int propertyIndex = -1)
    {
        Name = name;
        Type = type;
        Source = source;
        PropertyIndex = propertyIndex;
    }

    public string Name { get; }
    public ClickHouseType Type { get; }
    public ColumnSource Source { get; }

    /// <summary>Index into <c>AnalyticsEvent.PropertyValues</c> for <see cref="ColumnSource.Property"/>; -1 otherwise.</summary>
    public int PropertyIndex { get; }

    public FieldValue Read(AnalyticsEvent e, in KafkaCoordinates source) => Source switch
    {
        ColumnSource.EventId => FieldValue.FromUuid(e.EventId),
        ColumnSource.AppId => FieldValue.FromString(e.AppId),
        ColumnSource.UserId => FieldValue.FromString(e.UserId),
        ColumnSource.EventName => FieldValue.FromString(e.EventName),
        ColumnSource.EventTimestamp => FieldValue.FromTimestampMs(e.EventTimestampMs),
        ColumnSource.DeviceId => FieldValue.FromString(e.DeviceId),
        ColumnSource.Platform => FieldValue.FromString(e.Platform),
        ColumnSource.OsVersion => FieldValue.FromString(e.OsVersion),
        ColumnSource.AppVersion => FieldValue.FromString(e.AppVersion),
        ColumnSource.Country => FieldValue.FromString(e.Country),
        ColumnSource.Revenue => FieldValue.FromNullableFloat64(e.Revenue),
        ColumnSource.Properties => FieldValue.FromString(e.PropertiesJson),
        ColumnSource.KafkaTopic => FieldValue.FromString(source.Topic),
        ColumnSource.KafkaPartition => FieldValue.FromInt64(source.Partition),
        ColumnSource.KafkaOffset => FieldValue.FromInt64(source.Offset),
        ColumnSource.KafkaTimestamp => FieldValue.FromTimestampMs(source.TimestampMs),
        _ => e.PropertyValues is { } values && PropertyIndex < values.Length ? values[PropertyIndex] : FieldValue.Null,
    };
}
