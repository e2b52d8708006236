using EventPipeline.Stages.ClickHouse;
using EventPipeline.Stages.ClickHouse.Types;
using Xunit;

namespace EventPipeline.Tests.ClickHouse;

public class TableSchemaTests
{
    /// <summary>Verbatim DESCRIBE output of ClickHouse 18.16 (five fields: the last is the comment).</summary>
    private const string Describe18 =
        "a\tString\t\t\t\n" +
        "e\tEnum8(\\'c,d\\' = -2, \\'a\\\\\\'b\\' = 1)\t\t\t\n" +
        "lc\tLowCardinality(Nullable(String))\t\t\t\n" +
        "dt\tDateTime(\\'Europe/Berlin\\')\t\t\t\n" +
        "df\tInt32\tDEFAULT\tCAST(5, \\'Int32\\')\tx\\ty\n" +
        "m\tUInt8\tMATERIALIZED\t1\t\n" +
        "al\tString\tALIAS\ta\t\n";

    [Fact]
    public void Describe_output_is_unescaped()
    {
        var columns = TableSchema.ParseDescribe(Describe18).Columns;

        Assert.Equal(["a", "e", "lc", "dt", "df", "m", "al"], columns.Select(c => c.Name));
        Assert.Equal(@"Enum8('c,d' = -2, 'a\'b' = 1)", columns[1].Type);
        Assert.Equal("DateTime('Europe/Berlin')", columns[3].Type);
        Assert.Equal(new ColumnSchema("df", "Int32", ColumnDefaultKind.Default, "CAST(5, 'Int32')"), columns[4]);
        Assert.Equal(ColumnDefaultKind.Materialized, columns[5].DefaultKind);
        Assert.Equal(new ColumnSchema("al", "String", ColumnDefaultKind.Alias, "a"), columns[6]);
        Assert.Equal([new("c,d", -2), new("a'b", 1)], Assert.IsType<EnumType>(ClickHouseType.Parse(columns[1].Type)).Values);
    }

    [Fact]
    public void Newer_servers_extra_fields_and_two_field_rows_are_read()
    {
        var columns = TableSchema.ParseDescribe(
            "id\tUUID\t\t\t\t\t\n" +
            "tab\\tname\tString\tEPHEMERAL\t\\'\\\\n\\'\tcomment\tZSTD(1)\t\n" +
            "short\tDate").Columns;

        Assert.Equal(new ColumnSchema("tab\tname", "String", ColumnDefaultKind.Ephemeral, @"'\n'"), columns[1]);
        Assert.Equal(new ColumnSchema("short", "Date", ColumnDefaultKind.None, ""), columns[2]);
    }

    [Theory]
    [InlineData("only_a_name\n")]
    [InlineData("c\tString\tSOMETIMES\tx\n")]
    public void Bad_rows_are_format_errors(string tsv) =>
        Assert.Throws<FormatException>(() => TableSchema.ParseDescribe(tsv));
}
