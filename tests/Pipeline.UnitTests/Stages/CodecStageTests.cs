using System.Threading.Tasks.Dataflow;
using Confluent.Kafka;
using EventPipeline.Models.Codec;
using EventPipeline.Stages;
using EventPipeline.Stages.Codec;
using EventPipeline.Stages.Events;
using EventPipeline.Stages.Flow;
using EventPipeline.Tests.Codec;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Tests.Stages;

/// <summary>The two codec stages (one micro-batch loop) with a real trained model.</summary>
public sealed class CodecStageTests(TrainedCodecFixture trained) : IClassFixture<TrainedCodecFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly PipelineMetrics _metrics = new(Prometheus.Metrics.NewCustomRegistry());
    private readonly PartitionLease _lease = new(new TopicPartition("t", 0));

    private PipelineMessage Message(byte[] value)
    {
        var offset = _lease.Offsets.LastRegistered + 1;
        return new PipelineMessage(_lease, offset, _lease.Offsets.Register(offset), null, value, null, 0);
    }

    private static List<AnalyticsEvent> Events(int count, int seed)
    {
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = seed });
        return [.. Enumerable.Range(0, count).Select(_ => generator.NextEvent())];
    }

    private byte[][] Encode(IReadOnlyList<AnalyticsEvent> events)
    {
        using var codec = EventCodec.Load(trained.Directory);
        var envelopes = new byte[]?[events.Count];
        codec.Encode(events, envelopes);
        return [.. envelopes.Select(e => e ?? throw new InvalidOperationException("a generated event was not coded"))];
    }

    private (CodecDecodeStage Stage, CodecRegistry Registry) Create(int capacity = 1000, int maxBatchSize = 4096, TimeSpan? maxBatchDelay = null)
    {
        var registry = CodecRegistry.Load([trained.Directory]);
        var stage = new CodecDecodeStage(new CodecDecodeStageOptions
        {
            BoundedCapacity = capacity,
            MaxBatchSize = maxBatchSize,
            MaxBatchDelay = maxBatchDelay ?? TimeSpan.FromMilliseconds(5),
        }, registry, _metrics);
        return (stage, registry);
    }

    private Prometheus.Histogram.Child BatchSizes => _metrics.CodecBatchSize.WithLabels(CodecDecodeStage.StageName);

    [Fact]
    public async Task Mixed_envelopes_json_and_bad_envelopes_leave_in_order_each_decoded_rejected_or_untouched()
    {
        var events = Events(300, seed: 21);
        var envelopes = Encode(events);
        var (stage, registry) = Create();
        using var _ = registry;
        var output = new BufferBlock<PipelineMessage[]>();
        stage.Start(output);

        // Per position: the event an envelope must decode to, null for plain JSON, or the failure kind expected.
        var expected = new List<(PipelineMessage Message, AnalyticsEvent? Event, string? Kind)>();
        for (var i = 0; i < events.Count; i++)
        {
            (byte[] Value, AnalyticsEvent? Event, string? Kind) item = (i % 5) switch
            {
                0 => (EventJsonWriter.Write(events[i]), null, null),
                1 => (envelopes[i][..3], null, "codec_corrupt"), // cut off inside the header
                2 when i % 3 == 0 => (WithModelId(envelopes[i], 9), null, "codec_unknown_model"),
                _ => (envelopes[i], events[i], null),
            };
            var message = Message(item.Value);
            expected.Add((message, item.Event, item.Kind));
            Assert.True(await stage.Input.SendAsync(new[] { message }));
        }
        stage.Input.Complete();
        await stage.Completion.WaitAsync(Patience);

        Assert.True(output.TryReceiveAll(out var chunks));
        Assert.Equal(expected.Select(e => e.Message.Offset), chunks.SelectMany(c => c).Select(m => m.Offset));
        foreach (var (message, evt, kind) in expected)
        {
            if (evt is not null)
            {
                Assert.Null(message.Failure);
                Assert.Null(EventEquality.Difference(evt, message.Event!));
            }
            else if (kind is not null)
            {
                Assert.Null(message.Event);
                Assert.Equal(CodecDecodeStage.FailureStage, message.Failure!.Stage);
                Assert.Equal(kind, message.Failure.Kind);
                Assert.False(string.IsNullOrWhiteSpace(message.Failure.Detail));
            }
            else
            {
                // Plain JSON is DecodeStage's: untouched here.
                Assert.Null(message.Event);
                Assert.Null(message.Failure);
            }
        }
        var unknown = expected.First(e => e.Kind == "codec_unknown_model").Message.Failure!;
        Assert.Contains("codec model 9 is not loaded here (loaded: 7)", unknown.Detail);
        await output.Completion.WaitAsync(Patience); // the stage completed its next stage
    }

    [Fact]
    public async Task Messages_that_arrive_together_are_decoded_in_batches_up_to_the_maximum()
    {
        var envelopes = Encode(Events(200, seed: 22));
        var (stage, registry) = Create(maxBatchSize: 64, maxBatchDelay: TimeSpan.FromSeconds(10));
        using var _ = registry;
        foreach (var envelope in envelopes)
            Assert.True(stage.Input.Post(new[] { Message(envelope) }));
        var output = new BufferBlock<PipelineMessage[]>();
        stage.Start(output);
        stage.Input.Complete();
        await stage.Completion.WaitAsync(Patience);

        // Everything was queued before the loop started: 64 + 64 + 64 + 8, one Decode call (forward pass) each.
        Assert.Equal(4, BatchSizes.Count);
        Assert.Equal(200, BatchSizes.Sum);
        Assert.True(output.TryReceiveAll(out var chunks));
        Assert.Equal([64, 64, 64, 8], chunks.Select(c => c.Length));
        Assert.All(chunks.SelectMany(c => c), m => Assert.NotNull(m.Event));
    }

    [Fact]
    public async Task A_lone_message_is_delivered_after_the_batch_delay_without_more_input()
    {
        var envelope = Encode(Events(1, seed: 23))[0];
        var (stage, registry) = Create(maxBatchDelay: TimeSpan.FromMilliseconds(50));
        using var _ = registry;
        var output = new BufferBlock<PipelineMessage[]>();
        stage.Start(output);

        Assert.True(await stage.Input.SendAsync(new[] { Message(envelope) }));

        var delivered = Assert.Single(await output.ReceiveAsync(Patience));
        Assert.NotNull(delivered.Event);
        Assert.False(stage.Completion.IsCompleted);
        Assert.Equal(1, BatchSizes.Count);
        stage.Input.Complete();
        await stage.Completion.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_full_stage_makes_senders_wait_and_takes_more_once_the_next_stage_has_room()
    {
        var envelopes = Encode(Events(20, seed: 24));
        // Batches of exactly 2: the long delay means the loop always waits for the second message, which comes at once.
        var (stage, registry) = Create(capacity: 4, maxBatchSize: 2, maxBatchDelay: TimeSpan.FromSeconds(10));
        using var _ = registry;
        var next = new BufferBlock<PipelineMessage[]>(new DataflowBlockOptions { BoundedCapacity = 1 }); // not drained until below
        stage.Start(next);

        // The next stage takes one chunk of 2, the loop holds the following batch of 2 it cannot hand on, the input holds 4
        // one-message chunks.
        for (var i = 0; i < 8; i++)
            Assert.True(await stage.Input.SendAsync(new[] { Message(envelopes[i]) }).WaitAsync(Patience));
        var pending = stage.Input.SendAsync(new[] { Message(envelopes[8]) });
        Assert.False(stage.Input.Post(new[] { Message(envelopes[9]) }), "Post must be refused while the stage is full (the Kafka source pauses on it)");
        await Task.Delay(TimeSpan.FromMilliseconds(200)); // a chance to misbehave: nothing downstream drains
        Assert.False(pending.IsCompleted, "a send into the full stage must wait");

        // Room downstream lets the loop hand on its batch and take the next one from the input: the waiting send goes in.
        while (!pending.IsCompleted)
            Assert.All(await next.ReceiveAsync(Patience), m => Assert.NotNull(m.Event));
        Assert.True(await pending);
        stage.Input.Complete();
        next.LinkTo(DataflowBlock.NullTarget<PipelineMessage[]>());
        await stage.Completion.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_fault_upstream_faults_the_next_stage()
    {
        var (stage, registry) = Create();
        using var _ = registry;
        var next = new BufferBlock<PipelineMessage[]>();
        stage.Start(next);

        stage.Input.Fault(new InvalidOperationException("source failed"));

        await Assert.ThrowsAnyAsync<Exception>(() => stage.Completion.WaitAsync(Patience));
        await Assert.ThrowsAnyAsync<Exception>(() => next.Completion.WaitAsync(Patience));
    }

    [Fact]
    public void Options_name_the_configuration_key_of_a_bad_value()
    {
        Assert.Equal("Codec:MaxBatchSize",
            Assert.Throws<ArgumentOutOfRangeException>(() => new CodecDecodeStageOptions { MaxBatchSize = 0 }.Validate()).ParamName);
        Assert.Equal("Codec:MaxBatchDelayMs",
            Assert.Throws<ArgumentOutOfRangeException>(() => new CodecDecodeStageOptions { MaxBatchDelay = TimeSpan.FromMilliseconds(-1) }.Validate()).ParamName);
        Assert.Equal("Pipeline:QueueCapacity",
            Assert.Throws<ArgumentOutOfRangeException>(() => new CodecDecodeStageOptions { BoundedCapacity = 0 }.Validate()).ParamName);
    }

    [Fact]
    public async Task The_encode_stage_sends_events_in_order_as_envelopes_that_decode_back_or_as_canonical_json_when_they_cannot_be_coded()
    {
        var events = Events(500, seed: 31);
        events[100].UserId = "u_\ud800"; // a lone surrogate: no model codes it exactly
        events[300].UserId = "u_\udfff";
        using var codec = EventCodec.Load(trained.Directory);
        var stage = new CodecEncodeStage(new CodecEncodeStageOptions { MaxBatchSize = 128 }, codec, _metrics);
        var output = new BufferBlock<EncodedMessage>();
        stage.Start(output);

        foreach (var evt in events)
        {
            var message = Message(EventJsonWriter.Write(evt));
            message.Event = evt;
            Assert.True(await stage.Input.SendAsync(new[] { message }));
        }
        stage.Input.Complete();
        await stage.Completion.WaitAsync(Patience);

        Assert.True(output.TryReceiveAll(out var encoded));
        Assert.Equal(Enumerable.Range(0, events.Count).Select(i => (long)i), encoded.Select(e => e.Source.Offset));
        Assert.Equal([100L, 300], encoded.Where(e => !e.Coded).Select(e => e.Source.Offset));
        Assert.All(encoded.Where(e => !e.Coded), e => Assert.Equal(EventJsonWriter.Write(e.Source.Event!), e.Payload));
        Assert.Equal(2, _metrics.StageMessages.WithLabels(CodecEncodeStage.StageName, "uncoded").Value);
        Assert.Equal(events.Count - 2, _metrics.StageMessages.WithLabels(CodecEncodeStage.StageName, "coded").Value);
        // Bytes in and out count every event, coded or not: their ratio is the compression on the wire.
        Assert.Equal(encoded.Sum(e => e.Source.Value.Length), _metrics.CodecBytes.WithLabels(CodecEncodeStage.StageName, "in").Value);
        Assert.Equal(encoded.Sum(e => e.Payload.Length), _metrics.CodecBytes.WithLabels(CodecEncodeStage.StageName, "out").Value);
        Assert.True(_metrics.CodecBytes.WithLabels(CodecEncodeStage.StageName, "out").Value < _metrics.CodecBytes.WithLabels(CodecEncodeStage.StageName, "in").Value / 2);
        // Envelopes only, by model: their bytes per event against the model's trained value is the drift signal.
        Assert.Equal(events.Count - 2, _metrics.CodecEnvelopes.WithLabels(CodecEncodeStage.StageName, "7").Value);
        Assert.Equal(encoded.Where(e => e.Coded).Sum(e => e.Payload.Length), _metrics.CodecEnvelopeBytes.WithLabels(CodecEncodeStage.StageName, "7").Value);
        Assert.Equal(trained.Metadata.Evaluation.BytesPerEvent, _metrics.CodecTrainedBytesPerEvent.WithLabels("7").Value);
        // Each message goes out with the timestamp its envelope was coded against.
        Assert.All(encoded, e => Assert.Equal(e.Source.TimestampMs, e.RecordTimestampMs));

        var coded = encoded.Where(e => e.Coded).ToList();
        Assert.All(coded, e => Assert.True(CodecEnvelope.IsEnvelope(e.Payload)));
        using var registry = CodecRegistry.Load([trained.Directory]);
        var results = new EnvelopeDecodeResult[coded.Count];
        registry.Decode([.. coded.Select(e => (ReadOnlyMemory<byte>)e.Payload)], results);
        for (var i = 0; i < coded.Count; i++)
            Assert.Null(EventEquality.Difference(coded[i].Source.Event!, results[i].Event ?? throw new Xunit.Sdk.XunitException(results[i].Reason)));
    }

    /// <summary>The envelope with another model id (a one-byte varint at offset 2, as every test model's id is).</summary>
    private static byte[] WithModelId(byte[] envelope, byte modelId)
    {
        var copy = envelope.ToArray();
        copy[2] = modelId;
        return copy;
    }
}
