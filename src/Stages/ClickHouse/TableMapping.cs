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

    /// <summary>
    /// Why this table cannot hold the events, or nothing when it can: it must take at least one of the event's own fields
    /// (a table of unrelated columns, named by a typo in ClickHouse:Table, would otherwise be filled with defaults), and each
    /// event-field column must be able to take a typical value of its field (a <c>country UInt8</c> would reject every row).
    /// Enum and FixedString columns are not probed: whether a value fits them depends on the value.
    /// </summary>
    public IReadOnlyList<string> ProblemsHoldingEvents()
    {
        var problems = new List<string>();
        if (!Columns.Any(c => c.Source is >= ColumnSource.EventId and <= ColumnSource.Properties))
            problems.Add($"none of its inserted columns ({InsertColumnList}) is an event field; expected some of {string.Join(", ", KnownSources.Where(s => s.Value <= ColumnSource.Properties).Select(s => s.Key))}");
        var probe = new System.Buffers.ArrayBufferWriter<byte>();
        var nowMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var sample = new AnalyticsEvent
        {
            EventId = Guid.Parse("6f1c2a4e-9b7d-4c1e-8f3a-2d5b7e9c1a04"), AppId = "com.example.app", UserId = "user-1", EventName = "purchase",
            EventTimestampMs = nowMs, DeviceId = "device-1", Platform = "ios", OsVersion = "17.1", AppVersion = "1.2.3", Country = "US",
            Revenue = 4.99, PropertiesJson = """{"level":3}""",
        };
        var coordinates = new KafkaCoordinates("events", 3, 12345, nowMs);
        foreach (var column in Columns)
        {
            if (column.Source == ColumnSource.Property || column.Type.Name.Contains("Enum", StringComparison.Ordinal) ||
                column.Type.Name.Contains("FixedString", StringComparison.Ordinal))
                continue;
            var value = column.Read(sample, coordinates);
            try
            {
                column.Type.Write(probe, value);
            }
            catch (ColumnValueException ex)
            {
                problems.Add($"column {column.Name} {column.Type.Name} cannot hold the event's {column.Source} (e.g. {value}): {ex.Reason}");
            }
        }
        return problems;
    }

    /// <summary>
    /// How an insert planned from <paramref name="current"/> would differ from this one: a column added to or dropped
    /// from the insert, or one whose type (and so its bytes) changed. Empty when the two would send the same bytes.
    /// </summary>
    public IReadOnlyList<string> DifferencesTo(TableMapping current)
    {
        ArgumentNullException.ThrowIfNull(current);
        var now = current.Columns.ToDictionary(c => c.Name, StringComparer.Ordinal);
        var differences = new List<string>();
        foreach (var column in Columns)
        {
            if (!now.Remove(column.Name, out var changed))
                differences.Add($"column {column.Name} ({column.Type.Name}) is no longer inserted");
            else if (changed.Type.Name != column.Type.Name)
                differences.Add($"column {column.Name} changed type from {column.Type.Name} to {changed.Type.Name}");
        }
        differences.AddRange(now.Values.Select(c => $"column {c.Name} ({c.Type.Name}) is new"));
        if (differences.Count == 0 && !Columns.Select(c => c.Name).SequenceEqual(current.Columns.Select(c => c.Name), StringComparer.Ordinal))
            differences.Add("the columns were reordered");
        return differences;
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
