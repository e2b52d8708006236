using EventPipeline.Stages.Events;

namespace EventPipeline.Stages.ClickHouse;

/// <summary>
/// A source value that cannot be written to its column. The message becomes a dead-letter reason, so it names
/// the column, its type, the value kind and why, and never carries more than <see cref="MaxValueChars"/> of the value.
/// </summary>
public sealed class ColumnValueException : Exception
{
    public const int MaxValueChars = 100;
    private const int MaxTypeChars = 120;

    public ColumnValueException(string typeName, FieldKind valueKind, string valueText, string reason)
        : this(column: null, typeName, valueKind, valueText, reason, inner: null)
    {
    }

    private ColumnValueException(string? column, string typeName, FieldKind valueKind, string valueText, string reason, Exception? inner)
        : base(Compose(column, typeName, valueKind, valueText, reason), inner)
    {
        Column = column;
        TypeName = typeName;
        ValueKind = valueKind;
        ValueText = valueText;
        Reason = reason;
    }

    /// <summary>The column name, or null while the failure has not been attributed to a column yet.</summary>
    public string? Column { get; }

    public string TypeName { get; }
    public FieldKind ValueKind { get; }

    /// <summary>The offending value as shown in the message (truncated; empty for nulls and arrays).</summary>
    public string ValueText { get; }

    public string Reason { get; }

    /// <summary>The same failure attributed to a column, whose (outermost) type replaces the failing type's name.</summary>
    public ColumnValueException ForColumn(string column, string columnTypeName) =>
        new(column, columnTypeName, ValueKind, ValueText, Reason, this);

    /// <summary>The value and reason without kind, for an enclosing type that reports the failure of one element.</summary>
    internal string Detail => ValueText.Length == 0 ? Reason : ValueText + " " + Reason;

    internal static ColumnValueException For(ClickHouseType type, in FieldValue value, string reason) =>
        new(type.Name, value.Kind, Show(value), reason);

    internal static string Show(in FieldValue value) => value.Kind switch
    {
        FieldKind.Null or FieldKind.StringArray => "",
        FieldKind.String => "'" + Truncate(value.Text!, MaxValueChars) + "'",
        _ => value.ToString(),
    };

    private static string Compose(string? column, string typeName, FieldKind kind, string valueText, string reason)
    {
        var where = column is null ? "" : $"column '{Truncate(column, MaxValueChars)}' ";
        var value = valueText.Length == 0 ? "" : " " + valueText;
        return $"{where}{Truncate(typeName, MaxTypeChars)}: {kind}{value} {reason}";
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max), "...");
}
