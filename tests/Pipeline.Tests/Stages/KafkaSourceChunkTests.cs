using System.Text;
using System.Threading.Tasks.Dataflow;
using Confluent.Kafka;
using EventPipeline.Stages;
using EventPipeline.Stages.Flow;
using EventPipeline.Tests.Infrastructure;
using CommittedOffsets = EventPipeline.Tests.RoutineOperations.CommittedOffsets;
using Microsoft.Extensions.Logging.Abstractions;

namespace EventPipeline.Tests.Stages;

/// <summary>The source hands messages on in chunks: what a chunk may hold, and what it must not change.</summary>
[Collection(KafkaCollection.Name)]
public sealed class KafkaSourceChunkTests(KafkaFixture kafka)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Chunks_keep_each_partitions_order_stay_within_the_maximum_and_commit_only_what_was_completed()
    {
        const int partitions = 4, total = 4_000, maxChunk = 64;
        var topic = kafka.CreateTopic(partitions);
        var group = $"chunks-{Guid.NewGuid():N}";
        kafka.ProduceAll(topic, Enumerable.Range(0, total).Select(i => Encoding.UTF8.GetBytes($"message {i}")));
        var commits = new OffsetCommitStage(new PipelineMetrics(Prometheus.Metrics.NewCustomRegistry()), NullLogger<OffsetCommitStage>.Instance);
        var source = new KafkaSourceStage(new KafkaSourceOptions
        {
            BootstrapServers = kafka.BootstrapServers, Topic = topic, GroupId = group, MaxChunkSize = maxChunk,
            CommitInterval = TimeSpan.FromMilliseconds(100),
        }, commits, new PipelineMetrics(Prometheus.Metrics.NewCustomRegistry()), NullLogger<KafkaSourceStage>.Instance);
        // Small enough that the source must also queue chunks and pause while nobody reads.
        var received = new BufferBlock<PipelineMessage[]>(new DataflowBlockOptions { BoundedCapacity = 4 });
        using var stop = new CancellationTokenSource();
        var running = source.RunAsync(received, () => Task.CompletedTask, stop.Token, CancellationToken.None);

        var chunks = new List<PipelineMessage[]>();
        while (chunks.Sum(c => c.Length) < total)
            chunks.Add(await received.ReceiveAsync(Patience));

        Assert.All(chunks, chunk => Assert.InRange(chunk.Length, 1, maxChunk));
        var byPartition = chunks.SelectMany(c => c).GroupBy(m => m.Lease.Partition.Partition.Value).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(partitions, byPartition.Count);
        foreach (var (_, messages) in byPartition)
            Assert.Equal(Enumerable.Range(0, messages.Count).Select(i => (long)i), messages.Select(m => m.Offset));

        // Nothing was completed: nothing may be committed. Then complete the first 300 of one partition, and 10 after a gap.
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.Empty(await CommittedOffsets.ReadAsync(kafka.BootstrapServers, topic, group, partitions));
        var first = byPartition.MaxBy(p => p.Value.Count).Key; // about 1,000 messages
        foreach (var message in byPartition[first].Take(300).Concat(byPartition[first].Skip(400).Take(10)))
            message.Complete();
        var committed = await WaitForCommitAsync(topic, group, partitions);
        Assert.Equal(new TopicPartitionOffset(topic, first, 300), Assert.Single(committed));

        stop.Cancel();
        await running.WaitAsync(Patience);
        Assert.Equal(new TopicPartitionOffset(topic, first, 300), Assert.Single(await CommittedOffsets.ReadAsync(kafka.BootstrapServers, topic, group, partitions)));
    }

    private async Task<List<TopicPartitionOffset>> WaitForCommitAsync(string topic, string group, int partitions)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var committed = await CommittedOffsets.ReadAsync(kafka.BootstrapServers, topic, group, partitions);
            if (committed.Count > 0 || DateTime.UtcNow > deadline)
                return committed;
            await Task.Delay(100);
        }
    }
}
