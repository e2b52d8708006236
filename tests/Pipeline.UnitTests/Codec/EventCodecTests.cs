using System.Text.Json;
using EventPipeline.Models.Codec;
using EventPipeline.Stages.Codec;
using EventPipeline.Stages.Events;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Tests.Codec;

public sealed class EventCodecTests(TrainedCodecFixture trained) : IClassFixture<TrainedCodecFixture>
{
    private static AnalyticsEvent Event(Action<AnalyticsEvent>? change = null) => CodecTestEvents.Event(change);

    private (byte[]?[] Envelopes, EnvelopeDecodeResult[] Results) RoundTrip(IReadOnlyList<AnalyticsEvent> events, bool featurizerOnly = false)
    {
        using var codec = EventCodec.Load(trained.Directory, featurizerOnly);
        var envelopes = new byte[]?[events.Count];
        codec.Encode(events, envelopes);
        using var registry = CodecRegistry.Load([trained.Directory]);
        // The registry holds the full model: it decodes featurizer-only (mode 0) envelopes of the same artifact too.
        var results = new EnvelopeDecodeResult[events.Count];
        registry.Decode([.. envelopes.Select(e => (ReadOnlyMemory<byte>)e!)], results);
        return (envelopes, results);
    }

    private static void AssertSame(IReadOnlyList<AnalyticsEvent> events, byte[]?[] envelopes, EnvelopeDecodeResult[] results)
    {
        for (var i = 0; i < events.Count; i++)
        {
            Assert.NotNull(envelopes[i]);
            Assert.True(CodecEnvelope.IsEnvelope(envelopes[i]), "envelope magic");
            Assert.True(results[i].Event is not null, $"event {i}: {results[i].Reason}");
            Assert.Null(EventEquality.Difference(events[i], results[i].Event!));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Generated_events_from_the_training_and_a_shifted_distribution_round_trip_exactly(bool featurizerOnly)
    {
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = 99, AppCount = 300, StartTimestampMs = EventGeneratorOptions.DefaultStartTimestampMs + 150L * 86_400_000 });
        var events = Enumerable.Range(0, 3_000).Select(_ => generator.NextEvent()).Concat(trained.TrainingEvents.Take(2_000)).ToList();
        var (envelopes, results) = RoundTrip(events, featurizerOnly);
        AssertSame(events, envelopes, results);
    }

    [Fact]
    public void Random_and_adversarial_events_round_trip_exactly()
    {
        var events = CodecTestEvents.Adversarial(seed: 17, count: 2_000);
        var (envelopes, results) = RoundTrip(events);
        AssertSame(events, envelopes, results);
        (envelopes, results) = RoundTrip(events, featurizerOnly: true);
        AssertSame(events, envelopes, results);
    }

    [Fact]
    public void An_event_with_a_lone_surrogate_is_left_uncoded_and_the_rest_of_the_batch_is_coded()
    {
        using var codec = EventCodec.Load(trained.Directory);
        var envelopes = new byte[]?[3];
        codec.Encode([Event(), Event(e => e.UserId = "u_\ud800"), Event()], envelopes);
        Assert.NotNull(envelopes[0]);
        Assert.Null(envelopes[1]);
        Assert.NotNull(envelopes[2]);
    }

    [Fact]
    public void Corrupt_and_truncated_envelopes_are_failures_with_a_reason_never_exceptions()
    {
        var events = trained.TrainingEvents.Take(200).ToList();
        using var codec = EventCodec.Load(trained.Directory);
        var envelopes = new byte[]?[events.Count];
        codec.Encode(events, envelopes);
        var random = new Random(3);
        var damaged = new List<ReadOnlyMemory<byte>>();
        foreach (var envelope in envelopes)
        {
            var copy = envelope!.ToArray();
            switch (random.Next(3))
            {
                case 0:
                    damaged.Add(copy.AsMemory(0, random.Next(2, copy.Length))); // truncated
                    break;
                case 1:
                    copy[random.Next(4, copy.Length)] ^= (byte)(1 << random.Next(8)); // one bit flipped past the header
                    damaged.Add(copy);
                    break;
                default:
                    damaged.Add(copy.Concat(new byte[] { 0x42 }).ToArray()); // trailing byte
                    break;
            }
        }
        using var registry = CodecRegistry.Load([trained.Directory]);
        var results = new EnvelopeDecodeResult[damaged.Count];
        registry.Decode(damaged, results);
        var wrong = 0;
        for (var i = 0; i < results.Length; i++)
        {
            if (results[i].Event is { } decoded)
            {
                // Damage to redundant bits (a latent bit whose fields are corrected anyway) leaves the event intact;
                // the 16-bit check lets through about one wrong event in 65,536 damaged payloads.
                if (!EventEquality.Same(events[i], decoded))
                    wrong++;
                continue;
            }
            Assert.Equal("codec_corrupt", results[i].ErrorKind);
            Assert.StartsWith("corrupt codec envelope", results[i].Reason);
        }
        Assert.True(wrong <= 1, $"{wrong} damaged envelopes decoded into a different event");
    }

    [Fact]
    public void An_unknown_model_id_and_an_unknown_format_version_are_named_in_the_failure()
    {
        using var codec = EventCodec.Load(trained.Directory);
        var envelopes = new byte[]?[1];
        codec.Encode([Event()], envelopes);
        var otherModel = envelopes[0]!.ToArray();
        otherModel[2] = 9; // model id varint: 7 -> 9
        var otherVersion = envelopes[0]!.ToArray();
        otherVersion[1] = (byte)((2 << 4) | (otherVersion[1] & 0xF));
        using var registry = CodecRegistry.Load([trained.Directory]);
        var results = new EnvelopeDecodeResult[3];
        registry.Decode([otherModel, otherVersion, envelopes[0]!], results);
        Assert.Equal("codec_unknown_model", results[0].ErrorKind);
        Assert.Contains("codec model 9 is not loaded here (loaded: 7)", results[0].Reason);
        Assert.Equal("codec_version", results[1].ErrorKind);
        Assert.NotNull(results[2].Event);
    }

    [Fact]
    public void The_autoencoder_envelope_carries_a_latent_and_corrections_and_the_artifact_reports_its_evaluation()
    {
        var evaluation = trained.Metadata.Evaluation;
        Assert.Equal(0, evaluation.RoundTripMismatches);
        Assert.True(evaluation.BytesPerEvent > 0 && evaluation.BytesPerEvent < evaluation.CanonicalJsonBytesPerEvent);
        Assert.Equal(Enum.GetNames<CodecField>().Order(), evaluation.FieldAccuracy.Keys.Order());
        Assert.All(evaluation.FieldAccuracy.Values, a => Assert.InRange(a, 0, 1));
        using var codec = EventCodec.Load(trained.Directory);
        Assert.True(codec.UsesNetwork);
        Assert.Equal(7, codec.ModelId);
        var envelopes = new byte[]?[1];
        codec.Encode([Event()], envelopes);
        Assert.Equal(CodecEnvelope.Magic, envelopes[0]![0]);
        Assert.Equal((CodecEnvelope.FormatVersion << 4) | 1, envelopes[0]![1]);
    }
}
