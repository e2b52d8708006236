namespace EventPipeline.Stages.Events;

public enum FieldKind : byte
{
    Null,
    String,
    Int64,
    Float64,
    Bool,
    /// <summary>UTC epoch milliseconds in <see cref="FieldValue.Int64"/>.</summary>
    TimestampMs,
    Uuid,
    StringArray,
}

/// <summary>
/// A source value on its way into a ClickHouse column: a small tagged union so that converting an event
/// field to a column type allocates nothing for scalars.
/// </summary>
public readonly struct FieldValue
{
    public FieldKind Kind { get; }
    public long Int64 { get; }
    public double Float64 { get; }
    public string? Text { get; }
    public Guid Uuid { get; }
    public string[]? Array { get; }

    private FieldValue(FieldKind kind, long int64 = 0, double float64 = 0, string? text = null, Guid uuid = default, string[]? array = null)
    {
        Kind = kind;
        Int64 = int64;
        Float64 = float64;
        Text = text;
        Uuid = uuid;
        Array = array;
    }

    public static FieldValue Null => default;
    public static FieldValue FromString(string? value) => value is null ? Null : new(FieldKind.String, text: value);
    public static FieldValue FromInt64(long value) => new(FieldKind.Int64, int64: value);
    public static FieldValue FromFloat64(double value) => new(FieldKind.Float64, float64: value);
    public static FieldValue FromNullableFloat64(double? value) => value is { } v ? FromFloat64(v) : Null;
    public static FieldValue FromBool(bool value) => new(FieldKind.Bool, int64: value ? 1 : 0);
    public static FieldValue FromTimestampMs(long epochMs) => new(FieldKind.TimestampMs, int64: epochMs);
    public static FieldValue FromUuid(Guid value) => new(FieldKind.Uuid, uuid: value);
    public static FieldValue FromStringArray(string[]? value) => value is null ? Null : new(FieldKind.StringArray, array: value);

    public bool IsNull => Kind == FieldKind.Null;

    public override string ToString() => Kind switch
    {
        FieldKind.Null => "null",
        FieldKind.String => $"\"{Text}\"",
        FieldKind.Int64 => Int64.ToString(System.Globalization.CultureInfo.InvariantCulture),
        FieldKind.Float64 => Float64.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        FieldKind.Bool => Int64 != 0 ? "true" : "false",
        FieldKind.TimestampMs => $"{Int64}ms",
        FieldKind.Uuid => Uuid.ToString(),
        FieldKind.StringArray => "[" + string.Join(",", Array!) + "]",
        _ => Kind.ToString(),
    };
}
