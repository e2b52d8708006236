using System.Text;
using Confluent.Kafka;
using EventPipeline.Host.Commands.Dlq;
using EventPipeline.Stages;

namespace EventPipeline.Tests.Operations;

public sealed class DeadLetterReplayTimestampTests
{
    private static ConsumeResult<byte[]?, byte[]?> DeadLetter(long dlqTimestampMs, long? sourceTimestampMs)
    {
        var headers = new Headers
        {
            { "trace", Encoding.UTF8.GetBytes("abc") },
            { DeadLetterStage.KindHeader, Encoding.UTF8.GetBytes("codec_unknown_model") },
            { DeadLetterStage.OffsetHeader, Encoding.UTF8.GetBytes("41") },
        };
        if (sourceTimestampMs is { } source)
            headers.Add(DeadLetterStage.TimestampHeader, Encoding.UTF8.GetBytes(source.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return new ConsumeResult<byte[]?, byte[]?>
        {
            TopicPartitionOffset = new TopicPartitionOffset("events.dlq", 0, 7),
            Message = new Message<byte[]?, byte[]?>
            {
                Key = [1], Value = [0xEC, 0x22, 5], Headers = headers,
                Timestamp = new Timestamp(dlqTimestampMs, TimestampType.CreateTime),
            },
        };
    }

    [Fact]
    public void A_replay_carries_the_source_records_timestamp_which_format_2_envelopes_are_coded_against()
    {
        var record = DeadLetterRecord.From(DeadLetter(dlqTimestampMs: 2_000_000, sourceTimestampMs: 1_750_000_000_123));
        var replay = record.ToReplayMessage();
        Assert.Equal(1_750_000_000_123, replay.Timestamp.UnixTimestampMs);
        Assert.Equal(TimestampType.CreateTime, replay.Timestamp.Type);
        // The pipeline.* headers are stripped, the message's own kept.
        Assert.Equal(["trace", DeadLetterRecord.ReplayedFromHeader], replay.Headers.Select(h => h.Key));
        // The listing's time stays the dead letter's.
        Assert.Equal(2_000_000, record.Timestamp.ToUnixTimeMilliseconds());
    }

    [Fact]
    public void A_dead_letter_from_before_the_header_is_replayed_with_the_producers_default_timestamp()
    {
        var replay = DeadLetterRecord.From(DeadLetter(dlqTimestampMs: 2_000_000, sourceTimestampMs: null)).ToReplayMessage();
        Assert.Equal(Timestamp.Default, replay.Timestamp);
    }
}
