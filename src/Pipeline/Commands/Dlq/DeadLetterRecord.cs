using System.Globalization;
using System.Text;
using Confluent.Kafka;
using EventPipeline.Stages;

namespace EventPipeline.Host.Commands.Dlq;

/// <summary>
/// One record of the dead-letter topic, split into what <see cref="DeadLetterStage"/> added (the pipeline.* headers) and
/// the original message (key, value and its own headers, byte for byte).
/// </summary>
internal sealed record DeadLetterRecord
{
    /// <summary>Marks a message re-produced by <c>pipeline dlq replay</c>; its value is the dead letter's partition@offset.</summary>
    public const string ReplayedFromHeader = "pipeline.replayed.from";

    /// <summary>The headers the dead-letter stage writes; replay strips exactly these.</summary>
    public static readonly IReadOnlySet<string> StageHeaders = new HashSet<string>(StringComparer.Ordinal)
    {
        DeadLetterStage.StageHeader, DeadLetterStage.ReasonHeader, DeadLetterStage.KindHeader,
        DeadLetterStage.TopicHeader, DeadLetterStage.PartitionHeader, DeadLetterStage.OffsetHeader, DeadLetterStage.TimestampHeader,
    };

    public required int Partition { get; init; }
    public required long Offset { get; init; }
    public required DateTimeOffset Timestamp { get; init; }
    public required string Kind { get; init; }
    public required string Stage { get; init; }
    public required string Reason { get; init; }
    public required string? SourceTopic { get; init; }
    public required int? SourcePartition { get; init; }
    public required long? SourceOffset { get; init; }

    /// <summary>The source record's timestamp (ms), from dead letters written since it is recorded; null for older ones.</summary>
    public long? SourceTimestampMs { get; init; }
    public required byte[]? Key { get; init; }
    public required byte[] Value { get; init; }

    /// <summary>The original message's headers, in order (earlier pipeline.replayed.from ones included).</summary>
    public required IReadOnlyList<KeyValuePair<string, byte[]>> OriginalHeaders { get; init; }

    /// <summary>How often this message was replayed before it came back here: more than 0 hints at a replay loop.</summary>
    public int Replays => OriginalHeaders.Count(h => h.Key == ReplayedFromHeader);

    public string Position => $"{Partition.ToString(CultureInfo.InvariantCulture)}@{Offset.ToString(CultureInfo.InvariantCulture)}";

    public string SourcePosition => $"{SourceTopic ?? "?"}/{SourcePartition?.ToString(CultureInfo.InvariantCulture) ?? "?"}@{SourceOffset?.ToString(CultureInfo.InvariantCulture) ?? "?"}";

    public static DeadLetterRecord From(ConsumeResult<byte[]?, byte[]?> result)
    {
        var headers = result.Message.Headers ?? [];
        string? Text(string key) => headers.TryGetLastBytes(key, out var bytes) && bytes is not null ? Encoding.UTF8.GetString(bytes) : null;
        var original = new List<KeyValuePair<string, byte[]>>();
        foreach (var header in headers)
        {
            if (!StageHeaders.Contains(header.Key))
                original.Add(new(header.Key, header.GetValueBytes() ?? []));
        }
        return new DeadLetterRecord
        {
            Partition = result.Partition.Value,
            Offset = result.Offset.Value,
            Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(result.Message.Timestamp.UnixTimestampMs),
            Kind = Text(DeadLetterStage.KindHeader) ?? "",
            Stage = Text(DeadLetterStage.StageHeader) ?? "",
            Reason = Text(DeadLetterStage.ReasonHeader) ?? "",
            SourceTopic = Text(DeadLetterStage.TopicHeader),
            SourcePartition = int.TryParse(Text(DeadLetterStage.PartitionHeader), NumberStyles.Integer, CultureInfo.InvariantCulture, out var p) ? p : null,
            SourceOffset = long.TryParse(Text(DeadLetterStage.OffsetHeader), NumberStyles.Integer, CultureInfo.InvariantCulture, out var o) ? o : null,
            SourceTimestampMs = long.TryParse(Text(DeadLetterStage.TimestampHeader), NumberStyles.Integer, CultureInfo.InvariantCulture, out var t) ? t : null,
            Key = result.Message.Key,
            Value = result.Message.Value ?? [],
            OriginalHeaders = original,
        };
    }

    /// <summary>The original message as it was, plus pipeline.replayed.from=&lt;dlq partition@offset&gt;.</summary>
    public Message<byte[]?, byte[]> ToReplayMessage()
    {
        var headers = new Headers();
        foreach (var (key, value) in OriginalHeaders)
            headers.Add(key, value);
        headers.Add(ReplayedFromHeader, Encoding.UTF8.GetBytes(Position));
        var message = new Message<byte[]?, byte[]> { Key = Key, Value = Value, Headers = headers };
        // The original timestamp: a format-2 codec envelope decodes only with the record timestamp it was coded against.
        if (SourceTimestampMs is { } timestamp)
            message.Timestamp = new Timestamp(timestamp, TimestampType.CreateTime);
        return message;
    }
}
