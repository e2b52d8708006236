using System.Buffers;
using EventPipeline.Stages.Events;

namespace EventPipeline.Stages.ClickHouse;

/// <summary>
/// A column type as DESCRIBE TABLE reports it, able to convert a <see cref="FieldValue"/> and write it in
/// RowBinary. Each family is one small sealed class under Types/.
/// </summary>
public abstract class ClickHouseType
{
    protected ClickHouseType(string name) => Name = name;

    /// <summary>The type text as the server wrote it (e.g. <c>Nullable(Decimal(9, 2))</c>).</summary>
    public string Name { get; }

    /// <summary>Parses a type string such as <c>Array(LowCardinality(Nullable(String)))</c>.</summary>
    /// <exception cref="NotSupportedException">A type family this writer does not know.</exception>
    /// <exception cref="FormatException">Malformed type text.</exception>
    public static ClickHouseType Parse(string typeText) => ClickHouseTypeParser.Parse(typeText);

    /// <summary>Converts <paramref name="value"/> to this type and appends its RowBinary form.</summary>
    /// <exception cref="ColumnValueException">The value does not fit this type.</exception>
    public void Write(IBufferWriter<byte> output, in FieldValue value)
    {
        if (value.IsNull)
            WriteNull(output);
        else
            WriteValue(output, value);
    }

    /// <summary>What a missing source value becomes: the type's default, a null flag, or an error.</summary>
    protected abstract void WriteNull(IBufferWriter<byte> output);

    protected abstract void WriteValue(IBufferWriter<byte> output, in FieldValue value);

    protected ColumnValueException Reject(in FieldValue value, string reason) => ColumnValueException.For(this, value, reason);

    protected ColumnValueException NotConvertible(in FieldValue value) => Reject(value, "cannot be converted");

    public override string ToString() => Name;
}
