using System.Globalization;
using System.Text;
using System.Text.Json;

namespace EventPipeline.Host.Commands.Dlq;

/// <summary>
/// What <c>dlq list</c> and <c>dlq replay</c> print: one line (or JSON object) per dead letter as it is read, then a
/// summary with counts by kind. Text is for people; <c>--format json</c> writes one JSON document for machines.
/// </summary>
internal sealed class DeadLetterReport : IDisposable
{
    private readonly TextWriter _out;
    private readonly bool _json;
    private readonly Utf8JsonWriter? _writer;
    private readonly Stream? _stream;
    private readonly SortedDictionary<string, long> _byKind = new(StringComparer.Ordinal);

    public DeadLetterReport(TextWriter output, bool json)
    {
        _out = output;
        _json = json;
        if (json)
        {
            _stream = new MemoryStream();
            _writer = new Utf8JsonWriter(_stream, new JsonWriterOptions { Indented = false });
            _writer.WriteStartObject();
            _writer.WriteStartArray("dead_letters");
        }
    }

    public long Matched { get; private set; }

    public IReadOnlyDictionary<string, long> ByKind => _byKind;

    /// <param name="target">Replay: the topic it goes (or would go) to; null for list.</param>
    public void Add(DeadLetterRecord record, string? target = null)
    {
        Matched++;
        _byKind[record.Kind] = _byKind.GetValueOrDefault(record.Kind) + 1;
        if (_writer is not null)
        {
            _writer.WriteStartObject();
            _writer.WriteString("dlq", record.Position);
            _writer.WriteNumber("dlq_partition", record.Partition);
            _writer.WriteNumber("dlq_offset", record.Offset);
            _writer.WriteString("timestamp", FormatTime(record.Timestamp));
            _writer.WriteNumber("timestamp_ms", record.Timestamp.ToUnixTimeMilliseconds());
            _writer.WriteString("kind", record.Kind);
            _writer.WriteString("stage", record.Stage);
            _writer.WriteString("reason", record.Reason);
            _writer.WriteString("source_topic", record.SourceTopic);
            if (record.SourcePartition is { } p) _writer.WriteNumber("source_partition", p); else _writer.WriteNull("source_partition");
            if (record.SourceOffset is { } o) _writer.WriteNumber("source_offset", o); else _writer.WriteNull("source_offset");
            _writer.WriteNumber("key_bytes", record.Key?.Length ?? 0);
            _writer.WriteNumber("value_bytes", record.Value.Length);
            _writer.WriteNumber("headers", record.OriginalHeaders.Count);
            _writer.WriteNumber("replays", record.Replays);
            if (target is not null)
                _writer.WriteString("target_topic", target);
            _writer.WriteEndObject();
            // Flushed per record: a long listing streams instead of waiting for the end.
            _writer.Flush();
            FlushJson();
            return;
        }
        var line = new StringBuilder()
            .Append(record.Position).Append(' ')
            .Append(FormatTime(record.Timestamp))
            .Append(" kind=").Append(record.Kind)
            .Append(" stage=").Append(record.Stage)
            .Append(" source=").Append(record.SourcePosition)
            .Append(" size=").Append(record.Value.Length.ToString(CultureInfo.InvariantCulture));
        if (record.Replays > 0)
            line.Append(" replays=").Append(record.Replays.ToString(CultureInfo.InvariantCulture));
        if (target is not null)
            line.Append(" -> ").Append(target);
        line.Append(" reason=").Append(JsonSerializer.Serialize(record.Reason));
        _out.WriteLine(line.ToString());
    }

    /// <param name="extra">Counts for the summary (read=..., replayed=...), in order.</param>
    public void Finish(IEnumerable<(string Name, long Value)> extra)
    {
        var counts = extra.ToList();
        if (_writer is not null)
        {
            _writer.WriteEndArray();
            _writer.WriteStartObject("summary");
            _writer.WriteNumber("matched", Matched);
            foreach (var (name, value) in counts)
                _writer.WriteNumber(name, value);
            _writer.WriteStartObject("by_kind");
            foreach (var (kind, count) in _byKind)
                _writer.WriteNumber(kind, count);
            _writer.WriteEndObject();
            _writer.WriteEndObject();
            _writer.WriteEndObject();
            _writer.Flush();
            FlushJson();
            _out.WriteLine();
            _out.Flush();
            return;
        }
        _out.WriteLine(string.Join(' ', new[] { $"matched={Matched}" }.Concat(counts.Select(c => $"{c.Name}={c.Value}"))));
        foreach (var (kind, count) in _byKind)
            _out.WriteLine($"kind={kind} count={count}");
        _out.Flush();
    }

    private void FlushJson()
    {
        var buffer = (MemoryStream)_stream!;
        _out.Write(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        buffer.SetLength(0);
    }

    private static string FormatTime(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public void Dispose()
    {
        _writer?.Dispose();
        _stream?.Dispose();
    }
}
