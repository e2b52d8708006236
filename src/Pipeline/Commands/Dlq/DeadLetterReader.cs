using System.Diagnostics;
using Confluent.Kafka;

namespace EventPipeline.Host.Commands.Dlq;

/// <summary>Thrown when the dead-letter topic cannot be read to its end; the message says which topic and why.</summary>
internal sealed class DeadLetterReadException(string message) : Exception(message);

/// <summary>
/// Reads a dead-letter topic without a consumer group (nothing joined, nothing committed): every partition from its
/// beginning up to the high watermark it had when reading started, then stops.
/// </summary>
internal static class DeadLetterReader
{
    /// <param name="clientProperties">librdkafka properties for the consumer (the security ones of Kafka:Properties).</param>
    /// <param name="onRecord">Called for each record, in partition-then-offset order within a partition.</param>
    /// <returns>How many records were read.</returns>
    /// <exception cref="DeadLetterReadException">The topic does not exist, or its end was not reached in time.</exception>
    public static long Read(string bootstrapServers, string topic, IReadOnlyDictionary<string, string> clientProperties, TimeSpan timeout,
        Action<DeadLetterRecord> onRecord, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            // Assign() only, never subscribe: the group id is never used to join or commit, but the client wants one.
            GroupId = $"pipeline-dlq-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            EnablePartitionEof = true,
            ClientId = $"event-pipeline-dlq-tool-{Environment.MachineName}",
        };
        foreach (var (key, value) in clientProperties)
            config.Set(key, value);
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        Metadata metadata;
        try
        {
            metadata = admin.GetMetadata(topic, timeout);
        }
        catch (KafkaException ex)
        {
            throw new DeadLetterReadException($"cannot read the metadata of {topic} from {bootstrapServers}: {ex.Error.Reason}");
        }
        var topicMetadata = metadata.Topics.SingleOrDefault(t => t.Topic == topic);
        if (topicMetadata is null || topicMetadata.Error.IsError || topicMetadata.Partitions.Count == 0)
            throw new DeadLetterReadException($"topic {topic} does not exist ({topicMetadata?.Error.Reason ?? "not in the metadata"})");

        var ends = new Dictionary<int, long>();
        foreach (var partition in topicMetadata.Partitions.OrderBy(p => p.PartitionId))
        {
            var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition(topic, partition.PartitionId), timeout);
            if (watermarks.High > watermarks.Low)
                ends[partition.PartitionId] = watermarks.High;
        }
        consumer.Assign(ends.Keys.Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        long read = 0;
        while (ends.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero)
                throw new DeadLetterReadException($"read {read} records of {topic}, but partitions {string.Join(", ", ends.Keys)} did not reach their end within {timeout.TotalSeconds:F0} s");
            ConsumeResult<byte[]?, byte[]?>? result;
            try
            {
                result = consumer.Consume(TimeSpan.FromMilliseconds(Math.Min(left.TotalMilliseconds, 500)));
            }
            catch (ConsumeException ex) when (!ex.Error.IsFatal)
            {
                continue; // a failed fetch: the client fetches again
            }
            if (result is null || !ends.TryGetValue(result.Partition.Value, out var end))
                continue;
            if (result.IsPartitionEOF)
            {
                if (result.Offset.Value >= end)
                    ends.Remove(result.Partition.Value);
                continue;
            }
            if (result.Offset.Value >= end)
            {
                ends.Remove(result.Partition.Value);
                continue;
            }
            read++;
            onRecord(DeadLetterRecord.From(result));
            if (result.Offset.Value + 1 >= end)
                ends.Remove(result.Partition.Value);
        }
        consumer.Close();
        return read;
    }
}
