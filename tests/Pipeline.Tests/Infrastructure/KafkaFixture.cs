using System.Diagnostics;
using Confluent.Kafka;
using EventPipeline.DevTools.LocalServers;
using Xunit;

namespace EventPipeline.Tests.Infrastructure;

/// <summary>
/// One 3-broker <see cref="MockKafkaCluster"/> per test collection, with helpers to fill and read topics.
/// </summary>
/// <remarks>
/// The first join of a new consumer group does not wait (the mock's default is 3 s): tests start their groups
/// one at a time. Tests that need the delay set it on <see cref="Cluster"/> and restore it.
/// </remarks>
public sealed class KafkaFixture : IAsyncLifetime
{
    private static readonly TimeSpan FlushTimeout = TimeSpan.FromSeconds(60);
    private MockKafkaCluster? _cluster;
    private IProducer<byte[]?, byte[]>? _producer;

    public MockKafkaCluster Cluster => _cluster ?? throw new InvalidOperationException("The fixture has not started yet.");

    public string BootstrapServers => Cluster.BootstrapServers;

    /// <summary>
    /// A shared producer of raw bytes: acks=all, idempotent, batching for throughput, keyless messages spread
    /// at random over the partitions.
    /// </summary>
    public IProducer<byte[]?, byte[]> Producer => _producer ?? throw new InvalidOperationException("The fixture has not started yet.");

    /// <summary>Creates a topic under a fresh unique name and returns the name.</summary>
    public string CreateTopic(int partitions = 8)
    {
        var topic = $"test-{Guid.NewGuid():N}";
        Cluster.CreateTopic(topic, partitions);
        return topic;
    }

    /// <summary>Produces values with no key and waits until every one is acknowledged.</summary>
    public void ProduceAll(string topic, IEnumerable<byte[]> values) =>
        ProduceAll(topic, values.Select(value => new Message<byte[]?, byte[]> { Value = value }));

    /// <summary>Produces messages and waits until every one is acknowledged.</summary>
    /// <exception cref="KafkaException">A delivery failed; the first failure is reported.</exception>
    public void ProduceAll(string topic, IEnumerable<Message<byte[]?, byte[]>> messages)
    {
        Error? firstFailure = null;
        var failures = 0;
        void OnDelivery(DeliveryReport<byte[]?, byte[]> report)
        {
            if (report.Error.IsError)
            {
                Interlocked.CompareExchange(ref firstFailure, report.Error, null);
                Interlocked.Increment(ref failures);
            }
        }

        foreach (var message in messages)
        {
            while (true)
            {
                try
                {
                    Producer.Produce(topic, message, OnDelivery);
                    break;
                }
                catch (ProduceException<byte[]?, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    Producer.Poll(TimeSpan.FromMilliseconds(50));
                }
            }
        }

        if (Producer.Flush(FlushTimeout) > 0)
        {
            throw new TimeoutException($"Messages to {topic} were still unacknowledged after {FlushTimeout.TotalSeconds} s.");
        }

        if (failures > 0)
        {
            throw new KafkaException(new Error(firstFailure!.Code, $"{failures} deliveries to {topic} failed, first: {firstFailure.Reason}"));
        }
    }

    /// <summary>
    /// Reads every message the topic holds now, from the beginning of each partition, ordered by partition and
    /// offset. No consumer group is joined and nothing is committed.
    /// </summary>
    public Task<List<ConsumeResult<byte[]?, byte[]>>> ReadAllAsync(string topic, TimeSpan timeout) =>
        Task.Run(() => ReadAll(topic, timeout));

    public Task InitializeAsync()
    {
        _cluster = MockKafkaCluster.Start(brokers: 3);
        _cluster.SetInitialRebalanceDelay(TimeSpan.Zero);
        _producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
        {
            BootstrapServers = _cluster.BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = 5,
            // Spreads keyless messages over all partitions; the sticky default puts a fast burst into one.
            StickyPartitioningLingerMs = 0,
            BatchNumMessages = 10_000,
            QueueBufferingMaxMessages = 1_000_000,
        }).Build();
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _producer?.Dispose();
        _cluster?.Dispose();
        return Task.CompletedTask;
    }

    private List<ConsumeResult<byte[]?, byte[]>> ReadAll(string topic, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        using var admin = new DependentAdminClientBuilder(Producer.Handle).Build();
        var metadata = admin.GetMetadata(topic, timeout).Topics.Single();
        if (metadata.Error.IsError)
        {
            throw new KafkaException(metadata.Error);
        }

        using var consumer = new ConsumerBuilder<byte[]?, byte[]>(new ConsumerConfig
        {
            BootstrapServers = BootstrapServers,
            GroupId = $"read-all-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
        }).Build();

        var ends = new Dictionary<TopicPartition, long>();
        foreach (var partition in metadata.Partitions)
        {
            var topicPartition = new TopicPartition(topic, partition.PartitionId);
            var watermarks = consumer.QueryWatermarkOffsets(topicPartition, timeout);
            if (watermarks.High > watermarks.Low)
            {
                ends[topicPartition] = watermarks.High;
            }
        }

        consumer.Assign(ends.Keys.Select(partition => new TopicPartitionOffset(partition, Offset.Beginning)));
        var results = new List<ConsumeResult<byte[]?, byte[]>>();
        while (ends.Count > 0)
        {
            var left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException(
                    $"Read {results.Count} messages of {topic}, but partitions {string.Join(", ", ends.Keys.Select(p => p.Partition.Value))} " +
                    $"did not reach their end within {timeout.TotalSeconds} s.");
            }

            ConsumeResult<byte[]?, byte[]>? result;
            try
            {
                result = consumer.Consume(left);
            }
            catch (ConsumeException ex) when (!ex.Error.IsFatal)
            {
                // A fetch failed (fault tests inject such errors into the whole cluster): the client fetches again.
                continue;
            }

            if (result is null || !ends.TryGetValue(result.TopicPartition, out var end) || result.Offset.Value >= end)
            {
                continue;
            }

            results.Add(result);
            if (result.Offset.Value + 1 >= end)
            {
                ends.Remove(result.TopicPartition);
            }
        }

        return [.. results.OrderBy(r => r.Partition.Value).ThenBy(r => r.Offset.Value)];
    }
}
