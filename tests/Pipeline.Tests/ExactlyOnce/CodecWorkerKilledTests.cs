using System.Globalization;
using System.Text;
using Confluent.Kafka;
using EventPipeline.Models.Codec;
using EventPipeline.Stages;
using EventPipeline.Stages.Events;
using EventPipeline.Tests.Codec;
using EventPipeline.Tests.Infrastructure;
using EventPipeline.Tests.Integration;
using Xunit.Abstractions;

namespace EventPipeline.Tests.ExactlyOnce;

/// <summary>
/// Exactly-once with the learned codec on: the topic holds codec envelopes (and the malformed messages as they came),
/// the worker decodes them in micro-batches before the batch stage forms its offset ranges, and is killed twice. The
/// codec stage must keep every partition's order, or a replayed range would be cut differently and not deduplicate.
/// </summary>
[Collection(ExactlyOnceCollection.Name)]
public sealed class CodecWorkerKilledTests(KafkaFixture kafka, ReplicatedClickHouseFixture clickHouse, TrainedCodecFixture trained, ITestOutputHelper output)
    : IClassFixture<TrainedCodecFixture>
{
    private const int Partitions = 12;
    private const int MessageCount = 40_000;
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Two_kills_with_codec_envelopes_leave_no_loss_and_no_duplicate()
    {
        var topic = kafka.CreateTopic(Partitions);
        kafka.Cluster.CreateTopic($"{topic}.dlq", 4);
        kafka.Cluster.CreateTopic($"{topic}.batches", Partitions);
        var table = await clickHouse.CreateReplicatedEventsTableAsync();
        var messages = EndToEnd.Generate(MessageCount, seed: 29, malformedFraction: 0.01);
        var good = messages.Count(m => !m.IsMalformed);
        var malformed = messages.Count(m => m.IsMalformed);
        kafka.ProduceAll(topic, Encode(messages));
        var args = EndToEnd.WorkerArgs(kafka.BootstrapServers, topic, $"group-{Guid.NewGuid():N}", clickHouse.Server.HttpUrl, table,
            ("Delivery:Guarantee", "ExactlyOnce"), ("Batch:Size", 700), ("Batch:MaxLatencyMs", 100), ("Codec:Models", trained.Directory),
            ("Codec:MaxBatchSize", 512));

        foreach (var (run, killAbove) in new[] { (1, 9_000L), (2, 21_000L) })
        {
            using var victim = PipelineProcess.Start(args, output, $"run{run}");
            await EndToEnd.WaitUntilAsync(async () => await clickHouse.Server.CountAsync(table) > killAbove || victim.HasExited, StepTimeout,
                $"more than {killAbove} rows (run {run})", TimeSpan.FromMilliseconds(20));
            Assert.False(victim.HasExited, $"run {run} exited by itself: {victim.Stderr}");
            victim.Kill();
            await victim.WaitForExitAsync(TimeSpan.FromSeconds(10));
            output.WriteLine($"Killed run {run} at {await clickHouse.Server.CountAsync(table)} rows");
        }

        using var survivor = PipelineProcess.Start(args, output, "final");
        await EndToEnd.WaitUntilAsync(async () => (await EndToEnd.CountRowsAsync(clickHouse.Server, table)).Distinct >= good || survivor.HasExited,
            StepTimeout, $"{good} distinct events");
        await EndToEnd.WaitUntilAsync(async () => (await DeadLetterSourcesAsync($"{topic}.dlq")).Distinct().Count() >= malformed, StepTimeout,
            $"{malformed} dead letters", TimeSpan.FromSeconds(1));
        await Task.Delay(TimeSpan.FromSeconds(2)); // any late duplicate lands before counting
        survivor.Terminate();
        Assert.Equal(0, await survivor.WaitForExitAsync(TimeSpan.FromSeconds(40)));

        var (rows, distinct) = await EndToEnd.CountRowsAsync(clickHouse.Server, table);
        var sources = await DeadLetterSourcesAsync($"{topic}.dlq");
        output.WriteLine($"good {good}, rows {rows}, distinct {distinct}; malformed {malformed}, dead letters {sources.Count}, distinct {sources.Distinct().Count()}");
        Assert.Equal(good, distinct);
        Assert.Equal(good, rows); // exactly once: not a single duplicate row
        Assert.Equal(malformed, sources.Distinct().Count());
    }

    /// <summary>Good events as codec envelopes, as a producer pod would send them; malformed messages unchanged.</summary>
    private List<byte[]> Encode(IReadOnlyList<GeneratedMessage> messages)
    {
        var decoder = new EventDecoder(new EventDecoderOptions());
        using var codec = EventCodec.Load(trained.Directory);
        var payloads = new List<byte[]>(messages.Count);
        foreach (var chunk in messages.Chunk(2048))
        {
            var events = chunk.Where(m => !m.IsMalformed).Select(m => decoder.Decode(m.Payload).Event!).ToList();
            var envelopes = new byte[]?[events.Count];
            codec.Encode(events, envelopes);
            var next = 0;
            foreach (var message in chunk)
            {
                if (message.IsMalformed)
                {
                    payloads.Add(message.Payload);
                    continue;
                }
                payloads.Add(Assert.IsType<byte[]>(envelopes[next++]));
            }
        }
        return payloads;
    }

    private async Task<List<(int Partition, long Offset)>> DeadLetterSourcesAsync(string deadLetterTopic) =>
        [.. (await kafka.ReadAllAsync(deadLetterTopic, StepTimeout)).Select(letter =>
            (int.Parse(Header(letter, DeadLetterStage.PartitionHeader), CultureInfo.InvariantCulture),
             long.Parse(Header(letter, DeadLetterStage.OffsetHeader), CultureInfo.InvariantCulture)))];

    private static string Header(ConsumeResult<byte[]?, byte[]> letter, string key) =>
        Encoding.UTF8.GetString(letter.Message.Headers.GetLastBytes(key));
}
