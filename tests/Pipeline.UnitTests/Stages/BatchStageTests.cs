using System.Diagnostics;
using System.Threading.Tasks.Dataflow;
using Confluent.Kafka;
using EventPipeline.Stages;
using EventPipeline.Stages.Batching;
using EventPipeline.Stages.ClickHouse;
using EventPipeline.Stages.Events;
using EventPipeline.Stages.Flow;

namespace EventPipeline.Tests.Stages;

public sealed class BatchStageTests
{
    private static readonly TableMapping Mapping = TableMapping.Create(TableSchema.ParseDescribe(
        "event_id\tUUID\t\t\napp_id\tString\t\t\ncountry\tEnum8('DE' = 1, 'FR' = 2)\t\t\n"));

    private sealed class CountingPolicy(int size) : IBatchSizePolicy
    {
        public List<BatchInsertOutcome> Outcomes { get; } = [];
        public string Name => "counting";
        public int NextBatchSize(in BatchPolicyInput input) => size;
        public void OnInserted(in BatchInsertOutcome outcome) => Outcomes.Add(outcome);
    }

    private static (BatchStage Stage, BufferBlock<InsertBatch> Sink, BufferBlock<PipelineMessage> DeadLetter) Create(int size, TimeSpan maxLatency,
        TimeSpan minInsertInterval = default)
    {
        var stage = new BatchStage(new BatchStageOptions { BoundedCapacity = 100, MaxLatency = maxLatency, MinInsertInterval = minInsertInterval }, new EventRowEncoder(Mapping),
            new CountingPolicy(size), new PipelineMetrics(Prometheus.Metrics.NewCustomRegistry()));
        var sink = new BufferBlock<InsertBatch>();
        var deadLetter = new BufferBlock<PipelineMessage>();
        stage.Start(sink, deadLetter);
        return (stage, sink, deadLetter);
    }

    private static PipelineMessage Message(PartitionLease lease, long offset, string country = "DE") =>
        new(lease, offset, lease.Offsets.Register(offset), null, [], null, 0)
        {
            Event = new AnalyticsEvent { EventId = Guid.NewGuid(), AppId = "app", Country = country },
        };

    [Fact]
    public async Task Flushes_full_batches_at_the_policy_size_and_the_remainder_when_the_input_completes()
    {
        var (stage, sink, _) = Create(size: 4, maxLatency: TimeSpan.FromMinutes(10));
        var lease = new PartitionLease(new TopicPartition("t", 0));
        for (var i = 0; i < 10; i++)
            Assert.True(await stage.Input.SendAsync(new[] { Message(lease, i) }));
        stage.Input.Complete();
        await stage.Completion;

        Assert.True(sink.TryReceiveAll(out var batches));
        Assert.Equal([4, 4, 2], batches.Select(b => b.Count));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), batches.SelectMany(b => b.Messages).Select(m => m.Offset));
        // 16-byte UUID + 1-byte length + "app" + 1-byte enum per row.
        Assert.Equal(4 * 21, batches[0].Payload.Length);
    }

    [Fact]
    public async Task Batched_messages_let_their_events_go_and_know_where_their_rows_lie()
    {
        var (stage, sink, _) = Create(size: 5, maxLatency: TimeSpan.FromMinutes(10));
        var lease = new PartitionLease(new TopicPartition("t", 0));
        var messages = Enumerable.Range(0, 5).Select(i => Message(lease, i, i % 2 == 0 ? "DE" : "FR")).ToList();
        var rows = messages.Select(m =>
        {
            using var one = new PooledBufferWriter();
            Assert.True(new EventRowEncoder(Mapping).TryEncode(one, m.Event!, m.Coordinates, out _));
            return one.ToArray();
        }).ToList();
        foreach (var message in messages)
            await stage.Input.SendAsync(new[] { message });
        stage.Input.Complete();
        await stage.Completion;

        var batch = await sink.ReceiveAsync();
        Assert.All(batch.Messages, m => Assert.Null(m.Event));
        for (var i = 0; i < rows.Count; i++)
        {
            using var copy = new PooledBufferWriter();
            batch.Payload.CopyRange(batch.Messages[i].RowStart, batch.Messages[i].RowLength, copy);
            Assert.Equal(rows[i], copy.ToArray());
        }
    }

    [Fact]
    public async Task A_partial_batch_is_flushed_by_the_latency_timer_without_more_input()
    {
        var (stage, sink, _) = Create(size: 1000, maxLatency: TimeSpan.FromMilliseconds(50));
        var lease = new PartitionLease(new TopicPartition("t", 0));
        for (var i = 0; i < 3; i++)
            await stage.Input.SendAsync(new[] { Message(lease, i) });

        var batch = await sink.ReceiveAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(3, batch.Count);
        Assert.False(stage.Completion.IsCompleted);
    }

    [Fact]
    public async Task A_row_that_does_not_fit_goes_to_the_dead_letter_and_the_batch_keeps_the_others_byte_exact()
    {
        var (stage, sink, deadLetter) = Create(size: 3, maxLatency: TimeSpan.FromMinutes(10));
        var lease = new PartitionLease(new TopicPartition("t", 0));
        await stage.Input.SendAsync(new[] { Message(lease, 0) });
        await stage.Input.SendAsync(new[] { Message(lease, 1, country: "US") });
        await stage.Input.SendAsync(new[] { Message(lease, 2) });
        await stage.Input.SendAsync(new[] { Message(lease, 3) });
        stage.Input.Complete();
        await stage.Completion;

        var rejected = await deadLetter.ReceiveAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(1, rejected.Offset);
        Assert.Equal("encode", rejected.Failure!.Stage);
        Assert.Contains("country", rejected.Failure.Detail);
        Assert.True(sink.TryReceiveAll(out var batches));
        var batch = Assert.Single(batches);
        Assert.Equal([0L, 2, 3], batch.Messages.Select(m => m.Offset));
        Assert.Equal(3 * 21, batch.Payload.Length);
    }

    [Fact]
    public async Task Messages_of_a_revoked_partition_are_dropped_not_inserted()
    {
        var (stage, sink, _) = Create(size: 10, maxLatency: TimeSpan.FromMinutes(10));
        var kept = new PartitionLease(new TopicPartition("t", 0));
        var revoked = new PartitionLease(new TopicPartition("t", 1));
        revoked.Revoke();
        await stage.Input.SendAsync(new[] { Message(kept, 0) });
        await stage.Input.SendAsync(new[] { Message(revoked, 0) });
        stage.Input.Complete();
        await stage.Completion;

        Assert.True(sink.TryReceiveAll(out var batches));
        Assert.Equal([kept.Partition], batches.SelectMany(b => b.Messages).Select(m => m.Lease.Partition));
    }

    [Fact]
    public async Task Chunks_are_split_where_a_batch_fills_and_the_rest_opens_the_next_batch_in_order()
    {
        var (stage, sink, deadLetter) = Create(size: 4, maxLatency: TimeSpan.FromMinutes(10));
        var a = new PartitionLease(new TopicPartition("t", 0));
        var b = new PartitionLease(new TopicPartition("t", 1));
        // Chunks of 3, 6 and 5 messages from two partitions, interleaved as a poll would interleave them; offset 5 of
        // partition 0 does not fit its column.
        await stage.Input.SendAsync(new[] { Message(a, 0), Message(a, 1), Message(b, 0) });
        await stage.Input.SendAsync(new[] { Message(a, 2), Message(a, 3), Message(b, 1), Message(b, 2), Message(a, 4), Message(a, 5, country: "US") });
        await stage.Input.SendAsync(new[] { Message(b, 3), Message(a, 6), Message(a, 7), Message(b, 4), Message(b, 5) });
        stage.Input.Complete();
        await stage.Completion;

        Assert.True(sink.TryReceiveAll(out var batches));
        Assert.Equal([4, 4, 4, 1], batches.Select(x => x.Count));
        var rows = batches.SelectMany(x => x.Messages).ToList();
        Assert.Equal([0L, 1, 2, 3, 4, 6, 7], rows.Where(m => m.Lease == a).Select(m => m.Offset));
        Assert.Equal([0L, 1, 2, 3, 4, 5], rows.Where(m => m.Lease == b).Select(m => m.Offset));
        Assert.True(deadLetter.TryReceiveAll(out var rejected));
        Assert.Equal((a, 5L, "column_value"), (Assert.Single(rejected).Lease, rejected[0].Offset, rejected[0].Failure!.Kind));

        // Offsets are released only as batches are acknowledged: partition 0 up to the first unacknowledged row.
        foreach (var message in batches[0].Messages.Concat(batches[1].Messages))
            message.Complete();
        Assert.Equal(5, a.Offsets.CommittableOffset); // rows 0-4 of partition 0 acknowledged, its dead letter not yet
        rejected[0].Complete();
        Assert.Equal(6, a.Offsets.CommittableOffset);
    }

    [Fact]
    public async Task With_an_insert_interval_a_full_batch_waits_it_out_and_keeps_growing_up_to_the_max_size()
    {
        var (stage, sink, _) = Create(size: 2, maxLatency: TimeSpan.FromMilliseconds(20), minInsertInterval: TimeSpan.FromMilliseconds(400));
        var lease = new PartitionLease(new TopicPartition("t", 0));
        var offset = 0;
        var feeding = Task.Run(async () =>
        {
            // 2 rows every 20 ms for a second: a full batch of 2 every 20 ms without the interval.
            for (var i = 0; i < 50; i++)
            {
                await stage.Input.SendAsync(new[] { Message(lease, offset++), Message(lease, offset++) });
                await Task.Delay(20);
            }
            stage.Input.Complete();
        });
        var batches = new List<InsertBatch>();
        while (await sink.OutputAvailableAsync())
            batches.Add(await sink.ReceiveAsync());
        await feeding;
        await stage.Completion;
        var elapsed = Stopwatch.GetElapsedTime(batches[0].StartedTimestamp);

        Assert.Equal(100, batches.Sum(b => b.Count));
        // Without the interval: 50 batches of 2. With it: the first at once, then one per 400 ms at most (a slow
        // scheduler only makes fewer), the last when the input completes.
        Assert.True(batches.Count <= elapsed.TotalMilliseconds / 400 + 2, $"{batches.Count} batches in {elapsed.TotalMilliseconds:F0} ms");
        Assert.Contains(batches, b => b.Count > 2);
    }
}
