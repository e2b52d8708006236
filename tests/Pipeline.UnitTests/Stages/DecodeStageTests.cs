using System.Text;
using System.Threading.Tasks.Dataflow;
using Confluent.Kafka;
using EventPipeline.Stages;
using EventPipeline.Stages.Events;
using EventPipeline.Stages.Flow;
using static EventPipeline.Tests.Events.SampleEvents;

namespace EventPipeline.Tests.Stages;

public sealed class DecodeStageTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static async Task<List<PipelineMessage>> RunAsync(EventDecoderOptions options, params PipelineMessage[] messages)
    {
        var stage = new DecodeStage(new DecodeStageOptions(), new EventDecoder(options), new PipelineMetrics(Prometheus.Metrics.NewCustomRegistry()));
        var decoded = new BufferBlock<PipelineMessage[]>();
        var deadLetter = new BufferBlock<PipelineMessage>();
        stage.LinkTo(decoded, deadLetter);
        foreach (var message in messages)
            Assert.True(await stage.Block.SendAsync(new[] { message }));
        stage.Block.Complete();
        await stage.Block.Completion.WaitAsync(Patience);
        decoded.TryReceiveAll(out var ok);
        deadLetter.TryReceiveAll(out var failed);
        return [.. (ok ?? []).SelectMany(c => c).Concat(failed ?? []).OrderBy(m => m.Offset)];
    }

    private static PipelineMessage Message(PartitionLease lease, long offset, byte[] value) =>
        new(lease, offset, lease.Offsets.Register(offset), null, value, null, 0);

    [Fact]
    public async Task Events_and_failures_from_the_codec_stage_are_not_decoded_again_and_codec_events_get_their_property_values()
    {
        var lease = new PartitionLease(new TopicPartition("t", 0));
        // Values that would not decode: only the codec stage's results count for these messages.
        var fromCodec = Message(lease, 0, [0xEC, 0x11, 0x07]);
        fromCodec.Event = new AnalyticsEvent { EventId = Guid.NewGuid(), PropertiesJson = """{"screen":"home","level":3}""" };
        var rejectedByCodec = Message(lease, 1, [0xEC, 0x11, 0x09]);
        rejectedByCodec.Failure = new DeadLetterReason("codec", "codec_unknown_model", "codec model 9 is not loaded here");
        var unfitProperties = Message(lease, 2, [0xEC, 0x11, 0x07]);
        unfitProperties.Event = new AnalyticsEvent { EventId = Guid.NewGuid(), PropertiesJson = """{"level":1,"level":2}""" };
        var json = Message(lease, 3, Encoding.UTF8.GetBytes(Json()));

        var output = await RunAsync(new EventDecoderOptions { PropertyColumns = ["level", "screen"] }, fromCodec, rejectedByCodec, unfitProperties, json);

        Assert.Equal([0L, 1, 2, 3], output.Select(m => m.Offset));
        Assert.Same(fromCodec.Event, output[0].Event);
        Assert.Equal(["3", "\"home\""], output[0].Event!.PropertyValues!.Select(v => v.ToString()));
        Assert.Equal(new DeadLetterReason("codec", "codec_unknown_model", "codec model 9 is not loaded here"), output[1].Failure);
        Assert.Null(output[2].Event);
        Assert.Equal(new DeadLetterReason(DecodeStage.StageName, "malformed", "properties: duplicate key 'level'"), output[2].Failure);
        Assert.Equal(Guid.Parse(EventId), output[3].Event!.EventId);
    }

    [Fact]
    public async Task Without_a_codec_an_envelope_is_dead_lettered_with_a_reason_that_says_so()
    {
        var lease = new PartitionLease(new TopicPartition("t", 0));

        var output = await RunAsync(new EventDecoderOptions(), Message(lease, 0, [0xEC, 0x11, 0x07, 0x01, 0x02]));

        Assert.Equal(new DeadLetterReason(DecodeStage.StageName, "codec_not_configured", "a learned-codec envelope (model 7) but no Codec:Models are configured"),
            output.Single().Failure);
    }

    [Fact]
    public async Task Chunks_leave_in_order_without_their_failures_and_each_failure_is_dead_lettered_once_with_its_reason()
    {
        var stage = new DecodeStage(new DecodeStageOptions { Parallelism = 2, BoundedCapacity = 4 }, new EventDecoder(new EventDecoderOptions()),
            new PipelineMetrics(Prometheus.Metrics.NewCustomRegistry()));
        var decoded = new BufferBlock<PipelineMessage[]>();
        var deadLetter = new BufferBlock<PipelineMessage>();
        stage.LinkTo(decoded, deadLetter);
        var lease = new PartitionLease(new TopicPartition("t", 0));
        // 100 chunks of 10; every 7th message is not JSON; chunk 50 is all bad.
        var sending = Task.Run(async () =>
        {
            for (var chunk = 0; chunk < 100; chunk++)
            {
                var messages = Enumerable.Range(chunk * 10, 10)
                    .Select(offset => Message(lease, offset, offset % 7 == 0 || chunk == 50 ? [0x7B, 0x7B] : Encoding.UTF8.GetBytes(Json())))
                    .ToArray();
                Assert.True(await stage.Block.SendAsync(messages));
            }
            stage.Block.Complete();
        });
        await sending.WaitAsync(Patience);
        await stage.Block.Completion.WaitAsync(Patience);

        Assert.True(decoded.TryReceiveAll(out var chunks));
        Assert.Equal(99, chunks.Count); // the all-bad chunk leaves nothing behind
        var bad = Enumerable.Range(0, 1000).Where(o => o % 7 == 0 || o / 10 == 50).Select(o => (long)o).ToList();
        Assert.Equal(Enumerable.Range(0, 1000).Select(o => (long)o).Except(bad), chunks.SelectMany(c => c).Select(m => m.Offset));
        Assert.All(chunks.SelectMany(c => c), m => Assert.NotNull(m.Event));
        Assert.True(deadLetter.TryReceiveAll(out var failed));
        Assert.Equal(bad, failed.Select(m => m.Offset).Order());
        Assert.All(failed, m => Assert.Equal((DecodeStage.StageName, "malformed"), (m.Failure!.Stage, m.Failure.Kind)));
    }
}
