using EventPipeline.DevTools.LocalServers;
using System.Text;
using EventPipeline.Models.Codec;
using EventPipeline.Stages.Events;
using EventPipeline.Tests.Infrastructure;
using EventPipeline.Tests.Integration;
using Xunit.Abstractions;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Tests.Codec;

/// <summary>The codec's command line as a user scripts it: generate, train (from a file and from Kafka), encode, decode.</summary>
[Collection(KafkaCollection.Name)]
public sealed class CodecCommandTests(KafkaFixture kafka, ITestOutputHelper output)
{
    private async Task<ProcessResult> PipelineAsync(string? stdin, params string[] args)
    {
        var outcome = await ExternalProcess.RunAsync(PipelineProcess.DotnetHost, [PipelineProcess.PipelineDll, .. args], stdin, TimeSpan.FromMinutes(3));
        output.WriteLine($"pipeline {string.Join(' ', args)} -> {outcome.ExitCode}\n{outcome.Stderr}");
        return outcome;
    }

    [Fact]
    public async Task Generate_train_encode_and_decode_give_back_every_event_and_bad_lines_are_reported()
    {
        var folder = Directory.CreateTempSubdirectory("codec-cli-").FullName;
        var events = Path.Combine(folder, "events.jsonl");
        var model = Path.Combine(folder, "model");
        Assert.Equal(0, (await PipelineAsync(null, "generate", "--events", "6000", "--seed", "3", "--output", events)).ExitCode);
        var trained = await PipelineAsync(null, "train", "codec", "--input", events, "--out", model, "--kind", "autoencoder", "--epochs", "2", "--model-id", "12");
        Assert.Equal(0, trained.ExitCode);
        Assert.Contains("0 round-trip mismatches", trained.Stdout);
        Assert.Equal(12, CodecArtifact.ReadMetadata(model).ModelId);

        var lines = (await File.ReadAllLinesAsync(events)).Take(2000).ToList();
        var encoded = await PipelineAsync(string.Join('\n', lines.Append("{not json")) + "\n", "codec", "encode", "--model", model);
        Assert.Equal(1, encoded.ExitCode); // the bad line
        Assert.Contains("line 2001:", encoded.Stderr);
        var envelopes = encoded.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2000, envelopes.Length);
        Assert.All(envelopes, e => Assert.Equal(0xEC, Convert.FromBase64String(e)[0]));
        Assert.True(envelopes.Sum(e => Convert.FromBase64String(e).Length) < lines.Sum(l => Encoding.UTF8.GetByteCount(l)) / 3, "envelopes are much smaller than the JSON");

        var decoded = await PipelineAsync(string.Join('\n', envelopes) + "\n", "codec", "decode", "--model", model);
        Assert.Equal(0, decoded.ExitCode);
        var decoder = new EventDecoder(new EventDecoderOptions());
        var expected = lines.Select(l => Encoding.UTF8.GetString(EventJsonWriter.Write(decoder.Decode(Encoding.UTF8.GetBytes(l)).Event!)));
        Assert.Equal(expected, decoded.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        // Envelopes from a model this decoder does not hold: named, non-zero exit, the others still decoded.
        var foreign = Convert.FromBase64String(envelopes[0]);
        foreign[2] = 13;
        var mixed = await PipelineAsync(Convert.ToBase64String(foreign) + "\n" + envelopes[1] + "\n", "codec", "decode", "--model", model);
        Assert.Equal(1, mixed.ExitCode);
        Assert.Contains("codec model 13 is not loaded here (loaded: 12)", mixed.Stderr);
        Assert.Single(mixed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Train_codec_reads_its_training_events_from_a_kafka_topic()
    {
        var topic = kafka.CreateTopic(partitions: 3);
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = 8, MalformedFraction = 0.02 });
        kafka.ProduceAll(topic, Enumerable.Range(0, 3000).Select(_ => generator.Next().Payload));
        var model = Path.Combine(Directory.CreateTempSubdirectory("codec-kafka-").FullName, "model");
        var trained = await PipelineAsync(null, "train", "codec", "--from-kafka", topic, "--bootstrap-servers", kafka.BootstrapServers, "--out", model, "--epochs", "1");
        Assert.Equal(0, trained.ExitCode);
        var metadata = CodecArtifact.ReadMetadata(model);
        Assert.Equal($"kafka topic {topic}", metadata.TrainingSource);
        Assert.Equal(CodecMetadata.CountKind, metadata.Kind); // the default since the count model won (docs/learned-codec.md)
        Assert.Equal(0, metadata.Evaluation.RoundTripMismatches);
        // 3000 messages, about 2% malformed and skipped; 10% of the rest held out for the evaluation.
        Assert.InRange(metadata.TrainingEvents + metadata.Evaluation.Events, 2850, 2999);
    }
}
