using EventPipeline.Models.Codec;
using EventPipeline.Stages.Events;
using EventPipeline.Tests.Codec;
using EventPipeline.Tests.Infrastructure;
using EventPipeline.Tests.Integration;
using Xunit.Abstractions;
using EventPipeline.DevTools.Events;

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

    [Fact]
    public async Task Two_kills_with_codec_envelopes_leave_no_loss_and_no_duplicate()
    {
        var topic = FaultScenario.CreateTopics(kafka, Partitions);
        var table = await clickHouse.CreateReplicatedEventsTableAsync();
        var messages = EndToEnd.Generate(MessageCount, seed: 29, malformedFraction: 0.01);
        var good = messages.Count(m => !m.IsMalformed);
        var malformed = messages.Count(m => m.IsMalformed);
        kafka.ProduceAll(topic, Encode(messages));
        var args = EndToEnd.WorkerArgs(kafka.BootstrapServers, topic, $"group-{Guid.NewGuid():N}", clickHouse.Server.HttpUrl, table,
            ("Delivery:Guarantee", "ExactlyOnce"), ("Batch:Size", 700), ("Batch:MaxLatencyMs", 100), ("Codec:Models", trained.Directory),
            ("Codec:MaxBatchSize", 512));

        await FaultScenario.KillOnceRowsExceedAsync(args, clickHouse.Server, table, 9_000, "run1", output);
        await FaultScenario.KillOnceRowsExceedAsync(args, clickHouse.Server, table, 21_000, "run2", output);

        await FaultScenario.RunSurvivorAndAssertExactlyOnceAsync(args, kafka, clickHouse.Server, table, topic, good, malformed, output);
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
}
