using System.Text;

namespace EventPipeline.Stages.ClickHouse;

/// <summary>A table's columns as read once at start from <c>DESCRIBE TABLE t FORMAT TabSeparated</c>.</summary>
public sealed class TableSchema
{
    public TableSchema(IReadOnlyList<ColumnSchema> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        Columns = columns.ToArray();
    }

    public IReadOnlyList<ColumnSchema> Columns { get; }

    /// <summary>
    /// Parses DESCRIBE's TabSeparated rows: name, type, default_type, default_expression, then columns newer
    /// servers add (comment, codec, ttl...), which are ignored.
    /// </summary>
    /// <exception cref="FormatException">A row with fewer than two fields or an unknown default_type.</exception>
    public static TableSchema ParseDescribe(string tsv)
    {
        ArgumentNullException.ThrowIfNull(tsv);
        var columns = new List<ColumnSchema>();
        foreach (var line in tsv.Split('\n'))
        {
            if (line.Length == 0)
                continue;
            var fields = line.Split('\t');
            if (fields.Length < 2)
                throw new FormatException($"DESCRIBE row has {fields.Length} field(s), expected at least 2: {line}");
            string Field(int i) => i < fields.Length ? Unescape(fields[i]) : "";
            columns.Add(new ColumnSchema(Field(0), Field(1), ParseDefaultKind(Field(2)), Field(3)));
        }
        return new TableSchema(columns);
    }

    private static ColumnDefaultKind ParseDefaultKind(string text) => text switch
    {
        "" => ColumnDefaultKind.None,
        "DEFAULT" => ColumnDefaultKind.Default,
        "MATERIALIZED" => ColumnDefaultKind.Materialized,
        "ALIAS" => ColumnDefaultKind.Alias,
        "EPHEMERAL" => ColumnDefaultKind.Ephemeral,
        _ => throw new FormatException($"unknown default_type '{text}' in DESCRIBE output"),
    };

    /// <summary>Undoes TabSeparated escaping: ClickHouse writes \t, \n, \\ and \' (and a few rarer ones) in fields.</summary>
    private static string Unescape(string field)
    {
        if (!field.Contains('\\'))
            return field;
        var result = new StringBuilder(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] != '\\' || i + 1 == field.Length)
            {
                result.Append(field[i]);
                continue;
            }
            result.Append(field[++i] switch
            {
                't' => '\t',
                'n' => '\n',
                'r' => '\r',
                '0' => '\0',
                'b' => '\b',
                'f' => '\f',
                'a' => '\a',
                'v' => '\v',
                var c => c,
            });
        }
        return result.ToString();
    }
}
