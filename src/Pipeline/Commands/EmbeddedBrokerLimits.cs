// The project runs with InvariantGlobalization: N0 and F1 below format the same everywhere.
using Confluent.Kafka;
using EventPipeline.DevTools.Events;
using EventPipeline.Host.Configuration;
using EventPipeline.Stages;
using EventPipeline.Stages.Events;
using EventPipeline.Stages.Partitioning;

namespace EventPipeline.Host.Commands;

/// <summary>
/// The embedded broker (<c>dev-kafka</c>, librdkafka's mock cluster) keeps only about 5 MiB / 100,000 messages per
/// partition and trims the oldest beyond that, hard-coded: a consumer that starts later silently misses them.
/// <c>dev-kafka</c> says so at start; <c>generate</c> estimates each partition's load before producing and reads the
/// low watermarks after.
/// </summary>
internal static class EmbeddedBrokerLimits
{
    public const long MaxMessagesPerPartition = 100_000;
    public const long MaxBytesPerPartition = 5L * 1024 * 1024;

    public const string DevKafkaWarning =
        "WARNING: this embedded broker keeps only ~5 MiB / 100,000 messages per partition and silently trims the oldest beyond that; " +
        "a consumer that falls further behind skips data. Use many partitions (--partitions 64 or more) and `generate --round-robin` for large runs.";

    /// <summary>Estimated messages and payload bytes per partition of a <c>generate</c> run.</summary>
    /// <param name="Messages">Per partition, index = partition id.</param>
    /// <param name="Bytes">Key + value bytes per partition (the broker adds some overhead per record).</param>
    internal sealed record PartitionLoad(long[] Messages, long[] Bytes)
    {
        public int HottestPartition => Array.IndexOf(Messages, Messages.Max());

        public bool ExceedsLimits => Messages.Any(m => m > MaxMessagesPerPartition) || Bytes.Any(b => b > MaxBytesPerPartition);
    }

    /// <summary>
    /// Round-robin (unkeyed): the exact split. Keyed: the first <paramref name="sampleSize"/> messages of the same generator
    /// placed by the producer's own partitioner (<paramref name="partitioning"/>, hash by default: librdkafka's placement),
    /// scaled to <paramref name="events"/>.
    /// </summary>
    public static PartitionLoad Estimate(long events, int partitions, bool roundRobin, EventGeneratorOptions generatorOptions, int sampleSize = 20_000,
        PartitionerOptions? partitioning = null, IFanOutPolicy? learnedPolicy = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        var generator = new EventGenerator(generatorOptions);
        var sample = (int)Math.Min(events, sampleSize);
        var messages = new long[partitions];
        var bytes = new long[partitions];
        if (roundRobin)
        {
            // `generate --round-robin` sends message i to partition i % partitions.
            long allBytes = 0;
            for (var i = 0; i < sample; i++)
                allBytes += generator.Next().Payload.Length;
            var averageSize = sample == 0 ? 0 : (double)allBytes / sample;
            for (var p = 0; p < partitions; p++)
            {
                messages[p] = events / partitions + (p < events % partitions ? 1 : 0);
                bytes[p] = (long)Math.Round(messages[p] * averageSize);
            }
            return new PartitionLoad(messages, bytes);
        }
        var partitioner = (partitioning ?? new PartitionerOptions()).Create(partitions, learnedPolicy);
        var sampledMessages = new double[partitions];
        var sampledBytes = new double[partitions];
        for (var i = 0; i < sample; i++)
        {
            var message = generator.Next();
            var key = message.Key is null ? [] : System.Text.Encoding.UTF8.GetBytes(message.Key);
            var partition = partitioner.Choose(key);
            sampledMessages[partition]++;
            sampledBytes[partition] += message.Payload.Length + key.Length;
        }
        var scale = sample == 0 ? 0 : (double)events / sample;
        for (var p = 0; p < partitions; p++)
        {
            messages[p] = (long)Math.Round(sampledMessages[p] * scale);
            bytes[p] = (long)Math.Round(sampledBytes[p] * scale);
        }
        return new PartitionLoad(messages, bytes);
    }

    /// <returns>The warning to print before producing, or null when every partition stays under both limits.</returns>
    public static string? LoadWarning(PartitionLoad load, string topic, bool roundRobin)
    {
        if (!load.ExceedsLimits)
            return null;
        var over = Enumerable.Range(0, load.Messages.Length)
            .Count(p => load.Messages[p] > MaxMessagesPerPartition || load.Bytes[p] > MaxBytesPerPartition);
        var hot = load.HottestPartition;
        return
            $"WARNING: {over} of {load.Messages.Length} partitions of {topic} are expected to exceed ~100,000 messages or ~5 MiB " +
            $"(partition {hot}: ~{load.Messages[hot]:N0} messages, ~{load.Bytes[hot] / (1024.0 * 1024.0):F1} MiB{(roundRobin ? "" : ", keyed by app_id")}). " +
            "If this is the embedded broker (dev-kafka), it trims each partition to ~5 MiB / 100,000 messages and a consumer started later misses the rest: " +
            (roundRobin ? "use a topic with more partitions or fewer events." : "use --round-robin, --partitioner d-choices, more partitions or fewer events.");
    }

    /// <summary>Messages below each partition's low watermark: produced (by anyone) but no longer readable.</summary>
    public static string? TrimWarning(string topic, IReadOnlyList<(int Partition, long Low, long High)> watermarks)
    {
        var trimmed = watermarks.Where(w => w.Low > 0).ToList();
        if (trimmed.Count == 0)
            return null;
        var lost = trimmed.Sum(w => w.Low);
        return
            $"WARNING: {lost:N0} messages of {topic} are no longer readable: {trimmed.Count} of {watermarks.Count} partitions start above offset 0 " +
            $"({string.Join(", ", trimmed.Take(5).Select(w => $"partition {w.Partition} low watermark {w.Low:N0}"))}{(trimmed.Count > 5 ? ", ..." : "")}). " +
            "The embedded broker (dev-kafka) trims each partition to ~5 MiB / 100,000 messages; on a real cluster, retention did this.";
    }

    /// <summary>The topic's partition count, or 0 when the metadata does not say (the topic may be auto-created).</summary>
    public static int PartitionCount(string bootstrapServers, string topic, IReadOnlyDictionary<string, string> clientProperties)
    {
        using var consumer = BuildConsumer(bootstrapServers, clientProperties);
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.SingleOrDefault(t => t.Topic == topic);
        return metadata is null || metadata.Error.IsError ? 0 : metadata.Partitions.Count;
    }

    public static List<(int Partition, long Low, long High)> Watermarks(string bootstrapServers, string topic, IReadOnlyDictionary<string, string> clientProperties)
    {
        using var consumer = BuildConsumer(bootstrapServers, clientProperties);
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.SingleOrDefault(t => t.Topic == topic);
        if (metadata is null || metadata.Error.IsError)
            return [];
        return [.. metadata.Partitions.OrderBy(p => p.PartitionId).Select(p =>
        {
            var w = consumer.QueryWatermarkOffsets(new TopicPartition(topic, p.PartitionId), TimeSpan.FromSeconds(10));
            return (p.PartitionId, w.Low.Value, w.High.Value);
        })];
    }

    private static IConsumer<byte[], byte[]> BuildConsumer(string bootstrapServers, IReadOnlyDictionary<string, string> clientProperties)
    {
        // Never subscribes: the group id is only there because the client wants one.
        var config = new ConsumerConfig { BootstrapServers = bootstrapServers, GroupId = $"pipeline-generate-{Guid.NewGuid():N}", EnableAutoCommit = false };
        foreach (var (key, value) in clientProperties)
            config.Set(key, value);
        return new ConsumerBuilder<byte[], byte[]>(config).Build();
    }
}

/// <summary><c>generate</c>'s two checks against <see cref="EmbeddedBrokerLimits"/>: the expected load before, the trimmed data after.</summary>
internal sealed class GenerateLimitsCheck
{
    private readonly string _servers;
    private readonly string _topic;
    private readonly IReadOnlyDictionary<string, string> _properties;

    private GenerateLimitsCheck(string servers, string topic, IReadOnlyDictionary<string, string> properties)
    {
        _servers = servers;
        _topic = topic;
        _properties = properties;
    }

    /// <summary>Prints the load warning (if any); never fails the run: a check that cannot reach the broker stays silent.</summary>
    public static GenerateLimitsCheck Before(string servers, string topic, long events, bool roundRobin, EventGeneratorOptions generator,
        Microsoft.Extensions.Configuration.IConfiguration configuration, TextWriter stderr, PartitionerOptions? partitioning = null, IFanOutPolicy? learnedPolicy = null)
    {
        var properties = KafkaSecurityProperties.Select(PipelineSettings.ReadKafkaProperties(configuration));
        var check = new GenerateLimitsCheck(servers, topic, properties);
        try
        {
            var partitions = EmbeddedBrokerLimits.PartitionCount(servers, topic, properties);
            if (partitions > 0 && EmbeddedBrokerLimits.LoadWarning(EmbeddedBrokerLimits.Estimate(events, partitions, roundRobin, generator, partitioning: partitioning, learnedPolicy: learnedPolicy), topic, roundRobin) is { } warning)
                stderr.WriteLine(warning);
        }
        catch (KafkaException)
        {
        }
        return check;
    }

    public void After(TextWriter stderr)
    {
        try
        {
            if (EmbeddedBrokerLimits.TrimWarning(_topic, EmbeddedBrokerLimits.Watermarks(_servers, _topic, _properties)) is { } warning)
                stderr.WriteLine(warning);
        }
        catch (KafkaException)
        {
        }
    }
}
