using System.Text;
using Confluent.Kafka;
using EventPipeline.DevTools.LocalServers;
using Xunit;

namespace EventPipeline.Tests.Infrastructure;

[Collection(KafkaCollection.Name)]
public sealed class MockKafkaClusterTests(KafkaFixture kafka)
{
    private const short ProduceApiKey = 0;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public void Produced_messages_reach_a_group_consumer_that_commits_them()
    {
        var topic = kafka.CreateTopic(partitions: 4);
        var sent = Payloads("round-trip", 1000);
        kafka.ProduceAll(topic, sent.Select(Encoding.UTF8.GetBytes));

        using var consumer = new ConsumerBuilder<byte[]?, byte[]>(new ConsumerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            GroupId = $"group-{Guid.NewGuid():N}",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
        }).Build();
        consumer.Subscribe(topic);
        var received = new List<string>();
        var deadline = DateTime.UtcNow + Timeout;
        while (received.Count < sent.Count && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { } result)
            {
                received.Add(Encoding.UTF8.GetString(result.Message.Value));
            }
        }

        consumer.Commit();
        var committed = consumer.Committed(Timeout);
        consumer.Close();

        Assert.Equal(sent.Order(), received.Order());
        Assert.Equal(4, committed.Count(offset => offset.Offset != Offset.Unset));
        Assert.Equal(sent.Count, committed.Sum(offset => offset.Offset.Value));
    }

    [Fact]
    public async Task ReadAll_returns_every_message_of_every_partition_in_order()
    {
        var topic = kafka.CreateTopic(partitions: 8);
        var sent = Payloads("read-all", 500);
        kafka.ProduceAll(topic, sent.Select(Encoding.UTF8.GetBytes));

        var read = await kafka.ReadAllAsync(topic, Timeout);

        Assert.Equal(sent.Order(), read.Select(r => Encoding.UTF8.GetString(r.Message.Value)).Order());
        foreach (var partition in read.GroupBy(r => r.Partition.Value))
        {
            Assert.Equal(Enumerable.Range(0, partition.Count()).Select(i => (long)i), partition.Select(r => r.Offset.Value));
        }
    }

    [Fact]
    public async Task Pushed_request_errors_fail_the_next_produce_requests()
    {
        var topic = kafka.CreateTopic(partitions: 1);
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            Acks = Acks.All,
            // Without retries each pushed error reaches the caller. Errors that librdkafka caches per topic
            // (TopicAuthorizationFailed) would fail every later request too, so the test uses partition errors.
            MessageSendMaxRetries = 0,
        }).Build();
        await producer.ProduceAsync(topic, new Message<Null, string> { Value = "warm-up" });

        kafka.Cluster.PushRequestErrors(ProduceApiKey, ErrorCode.NotEnoughReplicas, ErrorCode.NotEnoughReplicasAfterAppend);

        var first = await Assert.ThrowsAsync<ProduceException<Null, string>>(
            () => producer.ProduceAsync(topic, new Message<Null, string> { Value = "refused-1" }));
        var second = await Assert.ThrowsAsync<ProduceException<Null, string>>(
            () => producer.ProduceAsync(topic, new Message<Null, string> { Value = "refused-2" }));
        var third = await producer.ProduceAsync(topic, new Message<Null, string> { Value = "accepted" });

        Assert.Equal(ErrorCode.NotEnoughReplicas, first.Error.Code);
        Assert.Equal(ErrorCode.NotEnoughReplicasAfterAppend, second.Error.Code);
        Assert.Equal(PersistenceStatus.Persisted, third.Status);
    }

    [Fact]
    public async Task Messages_produced_while_the_leader_is_down_arrive_once_it_is_up()
    {
        var topic = kafka.CreateTopic(partitions: 1);
        kafka.Cluster.SetPartitionLeader(topic, 0, brokerId: 2);
        kafka.Cluster.SetBrokerDown(2);
        var sent = Payloads("leader-down", 50);
        var deliveries = Task.Run(() => kafka.ProduceAll(topic, sent.Select(Encoding.UTF8.GetBytes)));
        await Task.Delay(TimeSpan.FromSeconds(1));
        kafka.Cluster.SetBrokerUp(2);
        await deliveries;

        var read = await kafka.ReadAllAsync(topic, Timeout);

        Assert.Equal(sent, read.Select(r => Encoding.UTF8.GetString(r.Message.Value)));
    }

    [Fact]
    public void Unknown_broker_ids_are_rejected()
    {
        var error = Assert.Throws<KafkaException>(() => kafka.Cluster.SetBrokerDown(99));

        Assert.Equal(ErrorCode.BrokerNotAvailable, error.Error.Code);
    }

    [Fact]
    public void Dispose_is_safe_from_many_threads_and_later_calls_throw()
    {
        var cluster = MockKafkaCluster.Start(brokers: 1);

        Parallel.For(0, 8, _ => cluster.Dispose());

        Assert.Throws<ObjectDisposedException>(() => cluster.CreateTopic("after-dispose", 1));
    }

    private static List<string> Payloads(string prefix, int count) =>
        [.. Enumerable.Range(0, count).Select(i => $"{prefix}-{i}")];
}
