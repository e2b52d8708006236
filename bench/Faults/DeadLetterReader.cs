using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using EventPipeline.Stages;

namespace EventPipeline.Bench.Faults;

/// <summary>Reads a dead-letter topic to its end and returns each letter's source partition and offset (from its headers).</summary>
internal static class DeadLetterReader
{
    /// <summary>Sum of the topic's high watermarks: a cheap "enough letters yet?" check.</summary>
    public static long Count(string bootstrap, string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = "bench-faults-dlq" }).Build();
        long total = 0;
        for (var p = 0; p < partitions; p++)
            total += consumer.QueryWatermarkOffsets(new TopicPartition(topic, new Partition(p)), TimeSpan.FromSeconds(10)).High.Value;
        return total;
    }

    public static List<(int Partition, long Offset)> ReadSources(string bootstrap, string topic, int partitions, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = $"bench-faults-dlq-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
        }).Build();
        var ends = new Dictionary<TopicPartition, long>();
        for (var p = 0; p < partitions; p++)
        {
            var partition = new TopicPartition(topic, new Partition(p));
            var (low, high) = consumer.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(10)) is var w ? (w.Low.Value, w.High.Value) : default;
            // The mock keeps ~5 MiB per partition and silently drops the oldest letters beyond that.
            if (low != 0)
                throw new InvalidOperationException($"{topic}[{p}] starts at offset {low}: the mock dropped dead letters (over ~5 MiB per partition)");
            if (high > 0)
                ends[partition] = high;
        }
        consumer.Assign(ends.Keys.Select(p => new TopicPartitionOffset(p, Offset.Beginning)));
        var sources = new List<(int, long)>();
        while (ends.Count > 0)
        {
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"read {sources.Count} dead letters of {topic} but did not reach its end within {timeout.TotalSeconds} s");
            var result = consumer.Consume(TimeSpan.FromSeconds(1));
            if (result is null || !ends.TryGetValue(result.TopicPartition, out var end))
                continue;
            sources.Add((int.Parse(Header(result, DeadLetterStage.PartitionHeader), CultureInfo.InvariantCulture),
                long.Parse(Header(result, DeadLetterStage.OffsetHeader), CultureInfo.InvariantCulture)));
            if (result.Offset.Value + 1 >= end)
                ends.Remove(result.TopicPartition);
        }
        consumer.Close();
        return sources;
    }

    private static string Header(ConsumeResult<Ignore, byte[]> letter, string key) =>
        Encoding.UTF8.GetString(letter.Message.Headers.GetLastBytes(key));
}
