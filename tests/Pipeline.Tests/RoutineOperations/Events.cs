using System.Text;

namespace EventPipeline.Tests.RoutineOperations;

/// <summary>Hand-written events, so that each scenario states the exact values it later reads back.</summary>
internal static class Events
{
    public static byte[] Json(Guid id, double? revenue = 4.99, string country = "US", long timestampMs = 1_718_000_000_000) =>
        Encoding.UTF8.GetBytes(
            $$$"""{"event_id":"{{{id}}}","app_id":"com.example.app","user_id":"u-1","event_name":"purchase","event_timestamp":{{{timestampMs}}},"device_id":"d-1","platform":"ios","os_version":"17.1","app_version":"1.2.3","country":"{{{country}}}","revenue":{{{(revenue is { } r ? r.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : "null")}}},"properties":{"level":3}}""");
}

/// <summary>What a consumer group has committed, read as a new member would read it.</summary>
internal static class CommittedOffsets
{
    /// <returns>The committed offset of each partition that has one.</returns>
    public static Task<List<Confluent.Kafka.TopicPartitionOffset>> ReadAsync(string bootstrapServers, string topic, string group, int partitions = 1) =>
        Task.Run(() =>
        {
            using var consumer = new Confluent.Kafka.ConsumerBuilder<byte[], byte[]>(new Confluent.Kafka.ConsumerConfig
            {
                BootstrapServers = bootstrapServers,
                GroupId = group,
            }).Build();
            return consumer.Committed(Enumerable.Range(0, partitions).Select(p => new Confluent.Kafka.TopicPartition(topic, p)), TimeSpan.FromSeconds(10))
                .Where(o => o.Offset.Value >= 0).ToList();
        });
}
