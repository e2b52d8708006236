using System.Buffers;
using System.Text;
using Confluent.Kafka;
using EventPipeline.Stages.ClickHouse;
using EventPipeline.Stages.Flow;

namespace EventPipeline.Tests.Flow;

public sealed class PipelineMessageTests
{
    private static readonly PartitionLease Lease = new(new TopicPartition("t", 3));

    [Theory]
    [InlineData("app-7", "{\"event_id\":1}")]
    [InlineData(null, "{\"event_id\":2}")]
    [InlineData("", "")]
    public void Parked_bytes_come_back_exactly_and_cannot_be_read_while_parked(string? key, string value)
    {
        using var originals = new PooledBufferWriter(minSegmentSize: 16, maxSegmentSize: 32);
        originals.Write<byte>(Encoding.UTF8.GetBytes("bytes of the messages parked before this one"));
        var message = new PipelineMessage(Lease, 10, 0, key is null ? null : Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value), null, 0);

        message.Park(originals);
        originals.Write<byte>(Encoding.UTF8.GetBytes("and after it"));

        Assert.Contains("t[3]@10", Assert.Throws<InvalidOperationException>(() => message.Value).Message);
        Assert.Throws<InvalidOperationException>(() => message.Key);
        message.Unpark();
        Assert.Equal(value, Encoding.UTF8.GetString(message.Value));
        Assert.Equal(key, message.Key is null ? null : Encoding.UTF8.GetString(message.Key));
        message.Unpark(); // a second time changes nothing
        Assert.Equal(value, Encoding.UTF8.GetString(message.Value));
    }
}
