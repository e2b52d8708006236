using EventPipeline.Stages.Events;

namespace EventPipeline.Stages.ClickHouse;

/// <summary>
/// Which table columns an insert fills, and from what. MATERIALIZED and ALIAS columns are never inserted. A
/// column named like an event field, a derived value (event_date, event_time) or Kafka metadata takes that
/// value; any other column is a property of the event's properties object, except that a column with a DEFAULT
/// expression is left to its default rather than overwritten with the type's zero when the property is absent.
/// </summary>
public sealed class TableMapping
{
    private static readonly Dictionary<string, ColumnSource> KnownSources = new(StringComparer.Ordinal)
    {
        ["event_id"] = ColumnSource.EventId,
        ["app_id"] = ColumnSource.AppId,
        ["user_id"] = ColumnSource.UserId,
        ["event_name"] = ColumnSource.EventName,
        ["event_timestamp"] = ColumnSource.EventTimestamp,
        ["event_time"] = ColumnSource.EventTimestamp,
        ["event_date"] = ColumnSource.EventTimestamp,
        ["device_id"] = ColumnSource.DeviceId,
        ["platform"] = ColumnSource.Platform,
        ["os_version"] = ColumnSource.OsVersion,
        ["app_version"] = ColumnSource.AppVersion,
        ["country"] = ColumnSource.Country,
        ["revenue"] = ColumnSource.Revenue,
        ["properties"] = ColumnSource.Properties,
        ["kafka_topic"] = ColumnSource.KafkaTopic,
        ["kafka_partition"] = ColumnSource.KafkaPartition,
        ["kafka_offset"] = ColumnSource.KafkaOffset,
        ["kafka_timestamp"] = ColumnSource.KafkaTimestamp,
    };

    private TableMapping(IReadOnlyList<MappedColumn> columns)
    {
        Columns = columns;
        PropertyColumns = columns.Where(c => c.Source == ColumnSource.Property).Select(c => c.Name).ToArray();
        InsertColumnList = string.Join(", ", columns.Select(c => ClickHouseIdentifier.Quote(c.Name)));
    }

    /// <summary>The inserted columns, in table order.</summary>
    public IReadOnlyList<MappedColumn> Columns { get; }

    /// <summary>Names of the property columns; <see cref="AnalyticsEvent.PropertyValues"/> holds their values in this order.</summary>
    public IReadOnlyList<string> PropertyColumns { get; }

    /// <summary>The inserted columns, backquoted and comma separated.</summary>
    public string InsertColumnList { get; }

    /// <exception cref="NotSupportedException">An inserted column has a type this writer does not support.</exception>
    /// <exception cref="ArgumentException">The table has no column to insert.</exception>
    public static TableMapping Create(TableSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var columns = new List<MappedColumn>();
        var properties = 0;
        foreach (var column in schema.Columns)
        {
            if (column.DefaultKind is ColumnDefaultKind.Materialized or ColumnDefaultKind.Alias)
                continue;
            var known = KnownSources.TryGetValue(column.Name, out var source);
            if (!known && column.DefaultKind != ColumnDefaultKind.None)
                continue;
            var type = ParseType(column);
            columns.Add(known ? new MappedColumn(column.Name, type, source) : new MappedColumn(column.Name, type, ColumnSource.Property, properties++));
        }
        if (columns.Count == 0)
            throw new ArgumentException("the table has no column to insert", nameof(schema));
        return new TableMapping(columns);
    }

    /// <summary><c>INSERT INTO `db`.`table` (`a`, `b`) FORMAT RowBinary</c>.</summary>
    public string BuildInsertQuery(string database, string table) =>
        $"INSERT INTO {ClickHouseIdentifier.Quote(database)}.{ClickHouseIdentifier.Quote(table)} ({InsertColumnList}) FORMAT RowBinary";

    private static ClickHouseType ParseType(ColumnSchema column)
    {
        try
        {
            return ClickHouseType.Parse(column.Type);
        }
        catch (NotSupportedException e)
        {
            throw new NotSupportedException($"column '{column.Name}': {e.Message}", e);
        }
        catch (FormatException e)
        {
            throw new FormatException($"column '{column.Name}': {e.Message}", e);
        }
    }
}
