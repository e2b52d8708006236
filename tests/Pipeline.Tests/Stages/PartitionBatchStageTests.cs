using System.Threading.Tasks.Dataflow;
using Confluent.Kafka;
using EventPipeline.Stages;
using EventPipeline.Stages.Batching;
using EventPipeline.Stages.ClickHouse;
using EventPipeline.Stages.Events;
using EventPipeline.Stages.ExactlyOnce;
using EventPipeline.Stages.Flow;
using EventPipeline.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace EventPipeline.Tests.Stages;

/// <summary>Exactly-once batching against a real (embedded) Kafka ledger topic.</summary>
[Collection(KafkaCollection.Name)]
public sealed class PartitionBatchStageTests(KafkaFixture kafka, ITestOutputHelper output)
{
    private static readonly TableMapping Mapping = TableMapping.Create(TableSchema.ParseDescribe(
        "event_id\tUUID\t\t\nkafka_partition\tUInt16\t\t\nkafka_offset\tUInt64\t\t\n"));

    private sealed class FixedPolicy(int size) : IBatchSizePolicy
    {
        public string Name => "fixed";
        public int NextBatchSize(in BatchPolicyInput input) => size;
        public void OnInserted(in BatchInsertOutcome outcome) { }
    }

    private (PartitionBatchStage Stage, BufferBlock<InsertBatch> Sink, BufferBlock<PipelineMessage> DeadLetter, BatchLedger Ledger) Create(string topic, int size)
    {
        var ledger = new BatchLedger(new BatchLedgerOptions { BootstrapServers = kafka.BootstrapServers, Topic = topic + ".batches", SourceTopic = topic },
            TestLogger.Create<BatchLedger>(output));
        var stage = new PartitionBatchStage(new BatchStageOptions { BoundedCapacity = 1000, MaxLatency = TimeSpan.FromMinutes(5) },
            new EventRowEncoder(Mapping), new FixedPolicy(size), ledger, new PipelineMetrics(Prometheus.Metrics.NewCustomRegistry()),
            TestLogger.Create<PartitionBatchStage>(output, LogLevel.Information));
        var sink = new BufferBlock<InsertBatch>();
        var deadLetter = new BufferBlock<PipelineMessage>();
        stage.Start(sink, deadLetter);
        return (stage, sink, deadLetter, ledger);
    }

    private static PipelineMessage Message(PartitionLease lease, long offset, bool malformed = false)
    {
        var message = new PipelineMessage(lease, offset, lease.Offsets.Register(offset), null, [], null, 0);
        if (malformed)
            message.Failure = new DeadLetterReason("decode", "malformed", "test");
        else
            message.Event = new AnalyticsEvent { EventId = Guid.NewGuid() };
        return message;
    }

    [Fact]
    public async Task Batches_replay_the_recorded_ranges_exactly_then_follow_the_policy_and_every_range_is_in_the_ledger()
    {
        var topic = kafka.CreateTopic(partitions: 2);
        kafka.Cluster.CreateTopic(topic + ".batches", 2);
        var (stage, sink, deadLetter, ledger) = Create(topic, size: 4);
        using var _ = ledger;
        var lease = new PartitionLease(new TopicPartition(topic, 1));
        // What a previous owner recorded: two batches of odd sizes, in flight when it died.
        lease.Replay.Enqueue(new OffsetRange(10, 12));
        lease.Replay.Enqueue(new OffsetRange(13, 19));

        for (var offset = 10L; offset < 28; offset++)
            await stage.Input.SendAsync(new[] { Message(lease, offset, malformed: offset == 15) });
        stage.Input.Complete();
        await stage.Completion;

        Assert.True(sink.TryReceiveAll(out var batches));
        var ranges = batches.Select(b => (b.Messages[0].Offset, b.Messages[^1].Offset)).ToList();
        // 10-12 and 13-19 as recorded (15 is a dead letter inside its range), then the policy's 4, then the rest on drain.
        Assert.Equal([(10L, 12L), (13L, 19L), (20L, 23L), (24L, 27L)], ranges);
        Assert.Equal(6, batches[1].Count);
        var rejected = await deadLetter.ReceiveAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(15, rejected.Offset);
        Assert.NotNull(rejected.Group);

        var recorded = ledger.ReadLatest([1], TimeSpan.FromSeconds(10))[1];
        Assert.Equal([new OffsetRange(10, 12), new OffsetRange(13, 19), new OffsetRange(20, 23), new OffsetRange(24, 27)], recorded);
    }

    [Fact]
    public async Task A_range_is_released_for_commit_only_when_its_rows_and_its_dead_letters_are_all_durable()
    {
        var topic = kafka.CreateTopic(partitions: 1);
        kafka.Cluster.CreateTopic(topic + ".batches", 1);
        var (stage, sink, deadLetter, ledger) = Create(topic, size: 3);
        using var _ = ledger;
        var lease = new PartitionLease(new TopicPartition(topic, 0));
        await stage.Input.SendAsync(new[] { Message(lease, 0) });
        await stage.Input.SendAsync(new[] { Message(lease, 1, malformed: true) });
        await stage.Input.SendAsync(new[] { Message(lease, 2) });
        var batch = await sink.ReceiveAsync(TimeSpan.FromSeconds(10));
        var rejected = await deadLetter.ReceiveAsync(TimeSpan.FromSeconds(10));

        rejected.Complete(); // its dead letter acked first
        Assert.Equal(-1, lease.Offsets.CommittableOffset);
        batch.Messages[0].Complete();
        Assert.Equal(-1, lease.Offsets.CommittableOffset);
        batch.Messages[1].Complete(); // the insert acknowledged: the whole range at once
        Assert.Equal(3, lease.Offsets.CommittableOffset);
        stage.Input.Complete();
        await stage.Completion;
    }

    [Fact]
    public async Task A_planned_range_that_did_not_fully_arrive_is_not_flushed_on_drain()
    {
        var topic = kafka.CreateTopic(partitions: 1);
        kafka.Cluster.CreateTopic(topic + ".batches", 1);
        var (stage, sink, _, ledger) = Create(topic, size: 100);
        using var __ = ledger;
        var lease = new PartitionLease(new TopicPartition(topic, 0));
        lease.Replay.Enqueue(new OffsetRange(0, 9));
        for (var offset = 0L; offset < 5; offset++)
            await stage.Input.SendAsync(new[] { Message(lease, offset) });
        stage.Input.Complete();
        await stage.Completion;

        // A shorter block would hash differently from the one that may already be in ClickHouse.
        Assert.False(sink.TryReceiveAll(out _));
        Assert.Equal(5, lease.Offsets.InFlight);
    }
}
