using EventPipeline.Stages.Events;

namespace EventPipeline.Stages.ClickHouse;

/// <summary>Writes one event per RowBinary row in the column order of its <see cref="TableMapping"/>.</summary>
public sealed class EventRowEncoder
{
    private readonly MappedColumn[] _columns;

    public EventRowEncoder(TableMapping mapping)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        Mapping = mapping;
        _columns = mapping.Columns.ToArray();
    }

    public TableMapping Mapping { get; }

    /// <summary>
    /// Appends the event's row. When a value does not fit its column the buffer is rewound to where the row began,
    /// so a batch never holds half a row, and <paramref name="error"/> says which column refused what.
    /// </summary>
    public bool TryEncode(PooledBufferWriter buffer, AnalyticsEvent e, in KafkaCoordinates source, out string? error)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentNullException.ThrowIfNull(e);
        var rowStart = buffer.Length;
        foreach (var column in _columns)
        {
            try
            {
                column.Type.Write(buffer, column.Read(e, source));
            }
            catch (ColumnValueException failure)
            {
                buffer.Truncate(rowStart);
                error = failure.ForColumn(column.Name, column.Type.Name).Message;
                return false;
            }
        }
        error = null;
        return true;
    }
}
