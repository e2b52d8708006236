namespace EventPipeline.Host;

/// <summary>The events table the demo, tests and benchmarks create; runs on ClickHouse 18.16 and on current servers.</summary>
public static class EventsTable
{
    public static string CreateStatement(string qualifiedName, string engine = "MergeTree") =>
        $"""
        CREATE TABLE {qualifiedName} (
            event_id UUID,
            app_id String,
            user_id String,
            event_name String,
            event_timestamp DateTime,
            device_id String,
            platform Enum8('ios' = 1, 'android' = 2),
            os_version String,
            app_version String,
            country FixedString(2),
            revenue Nullable(Float64),
            properties String,
            event_date Date,
            kafka_partition UInt16,
            kafka_offset UInt64
        ) ENGINE = {engine}
        PARTITION BY toYYYYMM(event_date)
        ORDER BY (app_id, event_timestamp, user_id)
        """;
}
