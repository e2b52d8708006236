using EventPipeline.Stages.ClickHouse;
using Xunit;

namespace EventPipeline.Tests.ClickHouse;

public class TableMappingTests
{
    private static TableMapping Map(params ColumnSchema[] columns) => TableMapping.Create(new TableSchema(columns));

    private static ColumnSchema Column(string name, string type, ColumnDefaultKind kind = ColumnDefaultKind.None) => new(name, type, kind, kind == ColumnDefaultKind.None ? "" : "expr");

    [Fact]
    public void Known_names_map_to_event_fields_derived_values_and_kafka_metadata()
    {
        var mapping = Map(
            Column("event_id", "UUID"),
            Column("event_date", "Date", ColumnDefaultKind.Default),
            Column("event_time", "DateTime"),
            Column("kafka_offset", "UInt64"),
            Column("revenue", "Nullable(Float64)"));

        Assert.Equal(
            [ColumnSource.EventId, ColumnSource.EventTimestamp, ColumnSource.EventTimestamp, ColumnSource.KafkaOffset, ColumnSource.Revenue],
            mapping.Columns.Select(c => c.Source));
        Assert.Empty(mapping.PropertyColumns);
    }

    [Fact]
    public void Materialized_alias_and_unmatched_default_columns_are_not_inserted()
    {
        var mapping = Map(
            Column("app_id", "String"),
            Column("m", "UInt8", ColumnDefaultKind.Materialized),
            Column("a", "String", ColumnDefaultKind.Alias),
            Column("inserted_at", "DateTime", ColumnDefaultKind.Default),
            Column("unsupported_but_materialized", "Map(String, String)", ColumnDefaultKind.Materialized),
            Column("level", "UInt16"),
            Column("campaign", "LowCardinality(String)"));

        Assert.Equal(["app_id", "level", "campaign"], mapping.Columns.Select(c => c.Name));
        Assert.Equal(["level", "campaign"], mapping.PropertyColumns);
        Assert.Equal([-1, 0, 1], mapping.Columns.Select(c => c.PropertyIndex));
        Assert.Equal("`app_id`, `level`, `campaign`", mapping.InsertColumnList);
    }

    [Fact]
    public void Insert_query_quotes_and_escapes_identifiers()
    {
        var mapping = Map(Column("we`ird\\name", "String"), Column("user_id", "String"));

        Assert.Equal(@"`we\`ird\\name`, `user_id`", mapping.InsertColumnList);
        Assert.Equal(@"INSERT INTO `analytics`.`events; DROP TABLE x` (`we\`ird\\name`, `user_id`) FORMAT RowBinary",
            mapping.BuildInsertQuery("analytics", "events; DROP TABLE x"));
        Assert.Throws<ArgumentException>(() => mapping.BuildInsertQuery("", "t"));
        Assert.Throws<ArgumentException>(() => mapping.BuildInsertQuery("db", "t\nx"));
    }

    [Fact]
    public void Unsupported_inserted_type_names_the_column()
    {
        var error = Assert.Throws<NotSupportedException>(() => Map(Column("geo", "Tuple(Float64, Float64)")));
        Assert.StartsWith("column 'geo': ClickHouse type 'Tuple(Float64, Float64)' is not supported", error.Message);
    }

    [Fact]
    public void A_table_with_nothing_to_insert_is_refused() =>
        Assert.Throws<ArgumentException>(() => Map(Column("m", "UInt8", ColumnDefaultKind.Materialized)));
}
