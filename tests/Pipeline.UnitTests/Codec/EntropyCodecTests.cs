using System.Text.Json;
using System.Text.Json.Nodes;
using EventPipeline.Models.Codec;
using EventPipeline.Stages.Codec;
using EventPipeline.Stages.Events;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Tests.Codec;

/// <summary>A count-based (format 2) model trained once on the same events as <see cref="TrainedCodecFixture"/>.</summary>
public sealed class CountCodecFixture : ArtifactFixture
{
    public CountCodecFixture()
    {
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = 5 });
        TrainingEvents = [.. Enumerable.Range(0, 12_000).Select(_ => generator.NextEvent())];
        Metadata = EntropyTrainer.Train(TrainingEvents, 0.1, "test", Directory, _ => { });
    }

    public IReadOnlyList<AnalyticsEvent> TrainingEvents { get; }

    public CodecMetadata Metadata { get; }
}

public sealed class EntropyCodecTests(CountCodecFixture counted, TrainedCodecFixture autoencoder)
    : IClassFixture<CountCodecFixture>, IClassFixture<TrainedCodecFixture>
{
    private static (byte[]?[] Envelopes, EnvelopeDecodeResult[] Results) RoundTrip(ICodecModel codec, IReadOnlyList<AnalyticsEvent> events, long[] recordTimestamps)
    {
        var envelopes = new byte[]?[events.Count];
        codec.Encode(events, recordTimestamps, envelopes);
        var results = new EnvelopeDecodeResult[events.Count];
        codec.Decode([.. envelopes.Select(e => (ReadOnlyMemory<byte>)(e ?? []))], recordTimestamps, results);
        return (envelopes, results);
    }

    private static void AssertSame(IReadOnlyList<AnalyticsEvent> events, byte[]?[] envelopes, EnvelopeDecodeResult[] results)
    {
        for (var i = 0; i < events.Count; i++)
        {
            Assert.NotNull(envelopes[i]);
            Assert.Equal(CodecEnvelope.Magic, envelopes[i]![0]);
            Assert.Equal((CodecEnvelope.EntropyFormatVersion << 4) | EntropyCodec.Mode, envelopes[i]![1]);
            Assert.True(results[i].Event is not null, $"event {i}: {results[i].Reason}");
            Assert.Null(EventEquality.Difference(events[i], results[i].Event!));
        }
    }

    private ICodecModel Load() => CodecArtifact.LoadModel(counted.Directory);

    [Fact]
    public void Generated_shifted_and_adversarial_events_round_trip_exactly_against_any_record_timestamp()
    {
        using var codec = Load();
        var otherSeed = new EventGenerator(new EventGeneratorOptions { Seed = 99 });
        var shifted = new EventGenerator(new EventGeneratorOptions { Seed = 3, Distribution = EventDistribution.Shifted });
        var generated = Enumerable.Range(0, 2_000).Select(_ => otherSeed.NextEvent()).Concat(Enumerable.Range(0, 2_000).Select(_ => shifted.NextEvent())).ToList();
        var (envelopes, results) = RoundTrip(codec, generated, EntropyTrainer.ProducerClock(generated));
        AssertSame(generated, envelopes, results);
        Assert.True(envelopes.Average(e => e!.Length) < generated.Average(e => EventJsonWriter.Write(e).Length) / 3);

        // Version-like strings at the edges of the dotted-decimal shape (leading zeros, empty and long parts, too many parts).
        string[] versions = ["0.0", "01.2", "1..2", "1.2.", ".1", "999999999.1", "1000000000.1", "1.2.3.4.5.6.7.8.9", "1.2.3.4.5.6.7.8.9.10", "18.3.2", "4294967295.0"];
        var adversarial = CodecTestEvents.Adversarial(seed: 23, count: 1_500)
            .Concat(versions.SelectMany((v, i) => new[]
            {
                CodecTestEvents.Event(e => { e.AppVersion = v; e.OsVersion = versions[^(i + 1)]; e.UserId = v; }),
                CodecTestEvents.Event(e => { e.Country = v; e.PropertiesJson = $"{{\"screen\":\"{v}\",\"v\":\"u.{v}\"}}"; e.DeviceId = "d." + v; }),
            })).ToList();
        var random = new Random(4);
        long[] edges = [long.MinValue, long.MaxValue, 0, -1];
        var timestamps = adversarial.Select(e => random.Next(3) switch
        {
            0 => edges[random.Next(edges.Length)],
            1 => random.NextInt64(),
            _ => unchecked(e.EventTimestampMs + random.Next(-5_000, 5_000)),
        }).ToArray();
        (envelopes, results) = RoundTrip(codec, adversarial, timestamps);
        AssertSame(adversarial, envelopes, results);
    }

    private static byte[] KeyOf(AnalyticsEvent e) => System.Text.Encoding.UTF8.GetBytes(e.AppId);

    [Fact]
    public void Keyed_envelopes_take_app_id_from_the_record_key_and_round_trip_exactly()
    {
        using var keyed = Load();
        ((EntropyCodec)keyed).AppIdFromKey = true;
        using var selfContained = Load();
        var otherSeed = new EventGenerator(new EventGeneratorOptions { Seed = 98 });
        var shifted = new EventGenerator(new EventGeneratorOptions { Seed = 4, Distribution = EventDistribution.Shifted });
        string[] apps = ["", "com.new.app", "東京.app", "🎮", new string('a', 300)];
        var events = Enumerable.Range(0, 1_000).Select(_ => otherSeed.NextEvent())
            .Concat(Enumerable.Range(0, 1_000).Select(_ => shifted.NextEvent()))
            .Concat(CodecTestEvents.Adversarial(seed: 29, count: 500))
            .Concat(apps.Select(app => CodecTestEvents.Event(e => e.AppId = app)))
            .ToList();
        var timestamps = EntropyTrainer.ProducerClock(events);
        var envelopes = new byte[]?[events.Count];
        keyed.Encode(events, timestamps, envelopes);
        var plain = new byte[]?[events.Count];
        selfContained.Encode(events, timestamps, plain);
        var results = new EnvelopeDecodeResult[events.Count];
        // Any loaded copy of the model reads both modes, whatever it writes.
        selfContained.Decode([.. envelopes.Select(e => (ReadOnlyMemory<byte>)e!)], timestamps, [.. events.Select(KeyOf)], results);
        for (var i = 0; i < events.Count; i++)
        {
            Assert.Equal((CodecEnvelope.EntropyFormatVersion << 4) | EntropyCodec.KeyedMode, envelopes[i]![1]);
            Assert.True(results[i].Event is not null, $"event {i}: {results[i].Reason}");
            Assert.Null(EventEquality.Difference(events[i], results[i].Event!));
        }
        // Shifted apps are all new to the model: their names no longer travel in the envelope.
        var shiftedRange = Enumerable.Range(1_000, 1_000).ToList();
        Assert.True(shiftedRange.Average(i => envelopes[i]!.Length) < shiftedRange.Average(i => plain[i]!.Length) - 10);
    }

    [Fact]
    public void A_keyed_envelope_under_another_key_or_none_is_codec_corrupt_never_another_app()
    {
        using var codec = Load();
        ((EntropyCodec)codec).AppIdFromKey = true;
        var known = counted.TrainingEvents.Take(200).ToList();
        var unseen = known.Select(e => CodecTestEvents.Event(x => { x.AppId = "com.unseen." + e.EventId.ToString("N")[..6]; x.UserId = e.UserId; })).ToList();
        var events = known.Concat(unseen).ToList();
        var timestamps = EntropyTrainer.ProducerClock(events);
        var envelopes = new byte[]?[events.Count];
        codec.Encode(events, timestamps, envelopes);
        var payloads = envelopes.Select(e => (ReadOnlyMemory<byte>)e!).ToList();
        // Known apps under another known app's key, new apps under another new app's key (the same "unseen" index).
        var knownApps = known.Select(e => e.AppId).Distinct().ToList();
        Assert.True(knownApps.Count > 1);
        var wrongKeys = events.Select((e, i) => (byte[]?)System.Text.Encoding.UTF8.GetBytes(
            i < known.Count ? knownApps.First(app => app != e.AppId) : "com.unseen.other")).ToList();
        Assert.All(Enumerable.Range(0, events.Count), i => Assert.NotEqual(events[i].AppId, System.Text.Encoding.UTF8.GetString(wrongKeys[i]!)));
        // Another key decodes other parents' tables or another check: either way the envelope is refused.
        var cases = new (IReadOnlyList<byte[]?>? Keys, string Reason)[]
        {
            (wrongKeys, $"corrupt codec envelope (model {codec.ModelId})"),
            (events.Select(_ => (byte[]?)null).ToList(), "the record has none"),
            (events.Select(_ => (byte[]?)[0xFF, 0xFE]).ToList(), "not UTF-8"),
            (null, "not known here"),
        };
        foreach (var (keys, reason) in cases)
        {
            var results = new EnvelopeDecodeResult[events.Count];
            codec.Decode(payloads, timestamps, keys, results);
            Assert.All(results, r =>
            {
                Assert.Null(r.Event);
                Assert.Equal("codec_corrupt", r.ErrorKind);
                Assert.Contains(reason, r.Reason);
            });
        }
    }

    [Fact]
    public void A_lone_surrogate_is_left_uncoded()
    {
        using var codec = Load();
        var envelopes = new byte[]?[2];
        codec.Encode([CodecTestEvents.Event(), CodecTestEvents.Event(e => e.DeviceId = "d\udc00")], [1, 2], envelopes);
        Assert.NotNull(envelopes[0]);
        Assert.Null(envelopes[1]);
    }

    [Fact]
    public void Damaged_envelopes_and_a_changed_record_timestamp_are_codec_corrupt_never_a_wrong_event()
    {
        using var codec = Load();
        var events = counted.TrainingEvents.Take(3_000).ToList();
        var timestamps = EntropyTrainer.ProducerClock(events);
        var envelopes = new byte[]?[events.Count];
        codec.Encode(events, timestamps, envelopes);
        var random = new Random(8);
        var damaged = new List<ReadOnlyMemory<byte>>();
        var damagedTimestamps = timestamps.ToArray();
        for (var i = 0; i < envelopes.Length; i++)
        {
            var copy = envelopes[i]!.ToArray();
            switch (random.Next(4))
            {
                case 0:
                    damaged.Add(copy.AsMemory(0, random.Next(2, copy.Length)));
                    break;
                case 1:
                    copy[random.Next(4, copy.Length)] ^= (byte)(1 << random.Next(8));
                    damaged.Add(copy);
                    break;
                case 2:
                    damaged.Add(copy.Concat(new byte[] { 0x42 }).ToArray());
                    break;
                default:
                    // A topic with LogAppendTime: the broker rewrote the record timestamp.
                    damaged.Add(copy);
                    damagedTimestamps[i] += random.Next(1, 10_000);
                    break;
            }
        }
        var results = new EnvelopeDecodeResult[damaged.Count];
        codec.Decode(damaged, damagedTimestamps, results);
        Assert.All(results, r =>
        {
            Assert.Null(r.Event);
            Assert.Equal("codec_corrupt", r.ErrorKind);
            Assert.StartsWith($"corrupt codec envelope (model {codec.ModelId})", r.Reason);
        });
    }

    [Fact]
    public void An_envelope_claiming_a_long_timestamp_is_corrupt_rather_than_expanded()
    {
        using var codec = (EntropyCodec)Load();
        var featurizer = new EventFeaturizer(codec.Metadata.Vocabularies, dottedDecimals: true);
        var indices = new int[EventFeaturizer.FieldCount];
        var ends = new int[EventFeaturizer.SideSegments];
        var side = new WireWriter();
        Assert.True(featurizer.TryFeaturize(CodecTestEvents.Event(), indices, side, 0, ends));
        var symbols = new List<EntropyModel.Symbol>();
        EntropyModel.Symbols(indices, side.Written, ends, symbols);
        // A well-formed stream under the model's own tables, but for a 200-byte timestamp delta.
        var rans = new RansEncoder();
        foreach (var symbol in symbols)
        {
            var value = symbol.Quantity == CodedQuantity.TimestampLength ? 200 : symbol.Value;
            if (symbol.Quantity is { } quantity)
                rans.Put(codec.Model.Table(quantity).For(symbol.Parent), value);
            else
                rans.PutByte((byte)value);
        }
        var envelope = new WireWriter();
        envelope.Byte(CodecEnvelope.Magic);
        envelope.Byte((CodecEnvelope.EntropyFormatVersion << 4) | EntropyCodec.Mode);
        envelope.VarUInt((ulong)codec.ModelId);
        rans.Finish(0, envelope);
        var results = new EnvelopeDecodeResult[1];
        codec.Decode([(ReadOnlyMemory<byte>)envelope.Written.ToArray()], [0L], null, results);
        Assert.Equal("codec_corrupt", results[0].ErrorKind);
        Assert.Contains("timestamp delta of 200 bytes", results[0].Reason);
    }

    [Fact]
    public void The_model_id_comes_from_the_content_and_an_edited_artifact_is_refused()
    {
        var metadata = CodecArtifact.ReadMetadata(counted.Directory);
        Assert.Equal(CodecMetadata.EntropyFormat, metadata.Format);
        Assert.Equal(CodecMetadata.CountKind, metadata.Kind);
        Assert.Equal(EntropyModel.ModelIdOf(metadata.ContentHash), metadata.ModelId);
        Assert.InRange(metadata.ModelId, 1, 16383);
        Assert.Equal(0, metadata.Evaluation.RoundTripMismatches);

        var edited = CopyArtifact();
        var tablesPath = Path.Combine(edited, CodecArtifact.TablesFile);
        var tables = JsonNode.Parse(File.ReadAllText(tablesPath))!;
        var marginal = tables["counts"]!["AppId"]!["marginal"]!.AsArray();
        marginal[2] = marginal[2]!.GetValue<long>() + 1000;
        File.WriteAllText(tablesPath, tables.ToJsonString());
        var error = Assert.Throws<CodecModelException>(() => CodecArtifact.LoadModel(edited));
        Assert.Contains($"model id {metadata.ModelId}", error.Message);
        Assert.Contains("do not match its tables", error.Message);

        var renumbered = CopyArtifact();
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(renumbered, CodecArtifact.MetadataFile)))!;
        json["model_id"] = metadata.ModelId % 16383 + 1;
        File.WriteAllText(Path.Combine(renumbered, CodecArtifact.MetadataFile), json.ToJsonString());
        Assert.Throws<CodecModelException>(() => CodecArtifact.LoadModel(renumbered));
    }

    [Fact]
    public void The_registry_refuses_one_id_with_two_contents()
    {
        using var real = Load();
        var impostor = new ModelWithId(real.ModelId, "0123456789abcdef");
        var error = Assert.Throws<CodecModelException>(() => new CodecRegistry([real, impostor]));
        Assert.Contains($"share id {real.ModelId} with different contents", error.Message);
    }

    [Fact]
    public void Old_format_1_envelopes_decode_beside_format_2_envelopes_with_both_models_loaded()
    {
        var events = counted.TrainingEvents.Skip(5_000).Take(400).ToList();
        var timestamps = EntropyTrainer.ProducerClock(events);
        using var registry = CodecRegistry.Load([autoencoder.Directory, counted.Directory]);
        using var oldModel = CodecArtifact.LoadModel(autoencoder.Directory);
        using var newModel = Load();
        using var keyedModel = Load();
        ((EntropyCodec)keyedModel).AppIdFromKey = true;
        var oldEnvelopes = new byte[]?[events.Count];
        var newEnvelopes = new byte[]?[events.Count];
        var keyedEnvelopes = new byte[]?[events.Count];
        oldModel.Encode(events, timestamps, oldEnvelopes);
        newModel.Encode(events, timestamps, newEnvelopes);
        keyedModel.Encode(events, timestamps, keyedEnvelopes);
        // Interleaved, as on a topic during a rollout; the keys reach each model's share of the batch.
        var mixed = Enumerable.Range(0, events.Count).Select(i => (ReadOnlyMemory<byte>)((i % 3) switch { 0 => oldEnvelopes[i]!, 1 => newEnvelopes[i]!, _ => keyedEnvelopes[i]! })).ToList();
        var results = new EnvelopeDecodeResult[events.Count];
        registry.Decode(mixed, timestamps, [.. events.Select(KeyOf)], results);
        for (var i = 0; i < events.Count; i++)
        {
            Assert.True(results[i].Event is not null, $"event {i}: {results[i].Reason}");
            Assert.Null(EventEquality.Difference(events[i], results[i].Event!));
        }
        Assert.Equal(CodecEnvelope.FormatVersion, oldEnvelopes[0]![1] >> 4);
        Assert.Equal(CodecEnvelope.EntropyFormatVersion, newEnvelopes[1]![1] >> 4);
    }

    [Fact]
    public void Tables_are_identical_whatever_the_parallelism_and_the_order_of_the_training_events()
    {
        var events = counted.TrainingEvents.Take(6_000).ToList();
        var vocabularies = EventFeaturizer.Learn(events);
        var timestamps = EntropyTrainer.ProducerClock(events);
        var one = EntropyTrainer.Count(vocabularies, events, timestamps, parallelism: 1);
        var three = EntropyTrainer.Count(vocabularies, events, timestamps, parallelism: 3);
        var reversed = EntropyTrainer.Count(vocabularies, [.. Enumerable.Reverse(events)], [.. timestamps.Reverse()], parallelism: 7);
        var sizes = new EventFeaturizer(vocabularies).FieldSizes;
        var reference = new EntropyModel(one, sizes);
        foreach (var other in new[] { new EntropyModel(three, sizes), new EntropyModel(reversed, sizes) })
        {
            foreach (var quantity in Enum.GetValues<CodedQuantity>())
            {
                var expected = reference.Table(quantity);
                var actual = other.Table(quantity);
                Assert.Equal(expected.Marginal.Starts.ToArray(), actual.Marginal.Starts.ToArray());
                Assert.Equal(expected.ByParent.Keys.Order(), actual.ByParent.Keys.Order());
                foreach (var (parent, table) in expected.ByParent)
                    Assert.Equal(table.Starts.ToArray(), actual.ByParent[parent].Starts.ToArray());
            }
        }
        Assert.Equal(EntropyModel.ContentHash("s", vocabularies, one), EntropyModel.ContentHash("s", vocabularies, three));
    }

    private string CopyArtifact()
    {
        var copy = Path.Combine(Path.GetTempPath(), $"codec-count-copy-{Guid.NewGuid():N}");
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(counted.Directory))
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        return copy;
    }

    /// <summary>Another model's identity under a taken id: what the registry must refuse before decoding anything.</summary>
    private sealed class ModelWithId(int modelId, string contentHash) : ICodecModel
    {
        public int ModelId => modelId;
        public int FormatVersion => CodecEnvelope.EntropyFormatVersion;
        public string ContentHash => contentHash;
        public double TrainedBytesPerEvent => 0;
        public CodecMetadata Metadata => throw new NotSupportedException("only its identity is used");
        public void Encode(IReadOnlyList<AnalyticsEvent> events, ReadOnlySpan<long> recordTimestampsMs, Span<byte[]?> envelopes) =>
            throw new NotSupportedException("only its identity is used");
        public void Decode(IReadOnlyList<ReadOnlyMemory<byte>> payloads, ReadOnlySpan<long> recordTimestampsMs, IReadOnlyList<byte[]?>? recordKeys,
            Span<EnvelopeDecodeResult> results) => throw new NotSupportedException("only its identity is used");
        public void Dispose()
        {
        }
    }
}
