using EventPipeline.DevTools.LocalServers;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using EventPipeline.Models.Codec;
using EventPipeline.Stages;
using EventPipeline.Stages.Codec;
using EventPipeline.Stages.Events;
using EventPipeline.Tests.Codec;
using EventPipeline.Tests.Infrastructure;
using Xunit.Abstractions;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Tests.Integration;

/// <summary>
/// The learned codec end to end: `pipeline produce --stdin` (the process production runs) encodes JSON lines into a
/// topic, a worker with Codec:Models inserts them into ClickHouse 18.16, and bad envelopes land in the dead-letter
/// topic with their reasons.
/// </summary>
[Collection(KafkaAndClickHouseCollection.Name)]
public sealed class CodecEndToEndTests(KafkaFixture kafka, ClickHouseFixture clickHouse, TrainedCodecFixture trained, ITestOutputHelper output)
    : IClassFixture<TrainedCodecFixture>
{
    private static readonly string[] PropertyColumns = ["screen", "level"];

    [Theory]
    [InlineData("autoencoder")]
    [InlineData("featurizer-only")] // mode-0 envelopes (--featurizer-only), decoded by the same worker configuration
    [InlineData("count")] // format 2, the shipped count model: the event time travels against the record timestamp
    public async Task Events_encoded_by_pipeline_produce_arrive_in_ClickHouse_exactly_and_bad_envelopes_are_dead_lettered_with_reasons(string kind)
    {
        var featurizerOnly = kind == "featurizer-only";
        var model = kind == "count" ? Path.Combine(AppContext.BaseDirectory, "Artifacts", "codec-count") : trained.Directory;
        var modelId = CodecArtifact.ReadMetadata(model).ModelId;
        const int count = 5_000;
        var topic = kafka.CreateTopic(partitions: 8);
        kafka.Cluster.CreateTopic(topic + ".dlq", 2);
        var table = await CreateTableAsync();
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = 41 });
        var decoder = new EventDecoder(new EventDecoderOptions { PropertyColumns = PropertyColumns });
        var expected = new Dictionary<Guid, AnalyticsEvent>(count);
        var lines = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            var payload = generator.Next().Payload;
            var decoded = decoder.Decode(payload);
            Assert.True(decoded.IsSuccess, decoded.ToString());
            expected.Add(decoded.Event.EventId, decoded.Event);
            lines.Append(Encoding.UTF8.GetString(payload)).Append('\n');
            if (i == 1000)
                lines.Append("{\"event_id\": 42}\n"); // line 1002
        }

        List<string> arguments = [PipelineProcess.PipelineDll, "produce", "--stdin", "--model", model, "--topic", topic, "--bootstrap-servers", kafka.BootstrapServers];
        if (featurizerOnly)
            arguments.Add("--featurizer-only");
        if (kind == "count")
            arguments.AddRange(["--Produce:Properties:compression.type=lz4", "--Produce:Properties:linger.ms=20"]); // the producer's settings, not zstd's default
        var produce = await ExternalProcess.RunAsync(PipelineProcess.DotnetHost, arguments, stdin: lines.ToString(), timeout: TimeSpan.FromMinutes(3));
        output.WriteLine(produce.Stdout);
        output.WriteLine(produce.Stderr);

        // The bad line is reported and makes the exit code non-zero; every good event was still sent, nearly all of them coded.
        Assert.Equal(1, produce.ExitCode);
        Assert.Contains("line 1002: wrong_type: ", produce.Stderr);
        var summary = Summary(produce.Stdout);
        Assert.Equal(count + 1, summary["read"]);
        Assert.Equal(1, summary["dead_lettered"]);
        Assert.Equal(count, summary["coded"] + summary["uncoded"]);
        Assert.True(summary["coded"] >= count * 0.99, $"only {summary["coded"]} of {count} coded");
        Assert.True(summary["bytes_out"] < summary["bytes_in"] / 2, $"{summary["bytes_out"]} bytes out for {summary["bytes_in"]} in");
        var produced = await kafka.ReadAllAsync(topic, TimeSpan.FromSeconds(30));
        Assert.Equal(count, produced.Count);
        var envelopeModes = produced.Select(m => m.Message.Value).Where(v => v[0] == CodecEnvelope.Magic).Select(v => v[1] & 0xF).Distinct();
        // produce keys by app_id, so a count model leaves app_id to the key (mode 3).
        Assert.Equal([kind switch { "featurizer-only" => 0, "autoencoder" => 1, _ => EntropyCodec.KeyedMode }], envelopeModes);
        var producedIds = IdsOf([.. produced.Select(m => m.Message.Value)], [.. produced.Select(m => m.Message.Timestamp.UnixTimestampMs)], model,
            [.. produced.Select(m => m.Message.Key)]);
        Assert.Equal(expected.Keys.Order(), producedIds.Order());
        for (var i = 0; i < produced.Count; i++)
            Assert.Equal(expected[producedIds[i]].AppId, Encoding.UTF8.GetString(produced[i].Message.Key!)); // keyed by app_id

        // Envelopes no consumer here can read: another model's, and one cut off inside its header.
        var (unknownModel, corrupt) = BadEnvelopes();
        if (kind == "count")
            corrupt = produced.Select(m => m.Message.Value).First(v => CodecEnvelope.IsEnvelope(v))[..5]; // the loaded model's, its coded stream cut off
        kafka.ProduceAll(topic, [unknownModel, corrupt]);

        await using (var worker = RunningWorker.Start(kafka.BootstrapServers, topic, clickHouse.Server.HttpUrl, table, output,
            new Dictionary<string, string?> { ["Codec:Models"] = model }))
        {
            await RunningWorker.WaitUntilAsync(async () => await clickHouse.Server.CountAsync(table) >= count && worker.Worker.DeadLettered >= 2,
                TimeSpan.FromMinutes(2), () => $"inserted {worker.Worker.Inserted} of {count}, dead-lettered {worker.Worker.DeadLettered} of 2");
            await worker.StopAsync();
            Assert.Equal(2, worker.Worker.DeadLettered);
        }

        var rows = await EndToEnd.AssertRowsMatchAsync(clickHouse.Server, table, expected, partitions: 8, extraColumns: ", screen, level");
        foreach (var (evt, fields) in rows)
        {
            // Property columns are filled from the decoded properties exactly as for a JSON event.
            Assert.Equal(evt.PropertyValues![0].IsNull ? "\\N" : evt.PropertyValues[0].Text, fields[14]);
            Assert.Equal(evt.PropertyValues![1].IsNull ? "\\N" : evt.PropertyValues[1].Int64.ToString(CultureInfo.InvariantCulture), fields[15]);
        }
        Assert.Contains(rows, r => r.Fields[14] != "\\N");
        Assert.Contains(rows, r => r.Fields[15] != "\\N");

        var deadLetters = await kafka.ReadAllAsync(topic + ".dlq", TimeSpan.FromSeconds(30));
        Assert.Equal(2, deadLetters.Count);
        var byKind = deadLetters.ToDictionary(l => Header(l, DeadLetterStage.KindHeader));
        Assert.Equal(unknownModel, byKind["codec_unknown_model"].Message.Value);
        Assert.Contains($"codec model 9 is not loaded here (loaded: {modelId})", Header(byKind["codec_unknown_model"], DeadLetterStage.ReasonHeader));
        Assert.Equal(corrupt, byKind["codec_corrupt"].Message.Value);
        Assert.StartsWith("corrupt codec envelope", Header(byKind["codec_corrupt"], DeadLetterStage.ReasonHeader));
        Assert.All(deadLetters, l => Assert.Equal(CodecDecodeStage.FailureStage, Header(l, DeadLetterStage.StageHeader)));
    }

    [Fact]
    public async Task A_worker_without_codec_models_dead_letters_envelopes_with_a_reason_that_says_so_and_inserts_the_json()
    {
        var topic = kafka.CreateTopic(partitions: 2);
        kafka.Cluster.CreateTopic(topic + ".dlq", 1);
        var table = await clickHouse.CreateEventsTableAsync();
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = 43 });
        var events = Enumerable.Range(0, 40).Select(_ => generator.NextEvent()).ToList();
        var envelopes = new byte[]?[20];
        using (var codec = EventCodec.Load(trained.Directory))
            codec.Encode(events[..20], envelopes);
        kafka.ProduceAll(topic, envelopes.Select(e => e!).Concat(events[20..].Select(e => EventJsonWriter.Write(e))));

        await using (var worker = RunningWorker.Start(kafka.BootstrapServers, topic, clickHouse.Server.HttpUrl, table, output))
        {
            await RunningWorker.WaitUntilAsync(async () => await clickHouse.Server.CountAsync(table) >= 20 && worker.Worker.DeadLettered >= 20,
                TimeSpan.FromMinutes(1), () => $"inserted {worker.Worker.Inserted} of 20, dead-lettered {worker.Worker.DeadLettered} of 20");
            await worker.StopAsync();
        }

        Assert.Equal(20, await clickHouse.Server.CountAsync(table));
        var deadLetters = await kafka.ReadAllAsync(topic + ".dlq", TimeSpan.FromSeconds(30));
        Assert.Equal(envelopes.Select(e => Convert.ToHexString(e!)).Order(), deadLetters.Select(l => Convert.ToHexString(l.Message.Value)).Order());
        Assert.All(deadLetters, l =>
        {
            Assert.Equal("codec_not_configured", Header(l, DeadLetterStage.KindHeader));
            Assert.Equal("a learned-codec envelope (model 7) but no Codec:Models are configured", Header(l, DeadLetterStage.ReasonHeader));
        });
    }

    [Fact]
    public async Task Produce_from_a_topic_commits_source_offsets_only_for_events_the_target_topic_acknowledged()
    {
        const int count = 3_000;
        const int partitions = 4;
        var source = kafka.CreateTopic(partitions);
        kafka.Cluster.CreateTopic(source + ".dlq", 1);
        var target = kafka.CreateTopic(partitions);
        var messages = EndToEnd.Generate(count, seed: 44, malformedFraction: 0.01);
        var good = messages.Where(m => !m.IsMalformed).Select(m => m.EventId).ToList();
        kafka.ProduceAll(source, messages.Select(m => m.Payload));
        var group = $"produce-{Guid.NewGuid():N}";
        using var loggerFactory = TestLogger.CreateFactory(output, Microsoft.Extensions.Logging.LogLevel.Information);
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => Host.Commands.ProducePipeline.RunAsync(
            new(kafka.BootstrapServers, target, trained.Directory, source, group, MaxBatchSize: 4096, MaxBatchDelayMs: 5), loggerFactory, stop));

        await EndToEnd.WaitUntilAsync(() => Task.Run(() => CommittedToTheEnd(source, partitions, group)), TimeSpan.FromMinutes(2),
            "the source offsets committed to the end", TimeSpan.FromMilliseconds(500));
        // Committed means acknowledged: every event is in the target topic already, and every malformed one in the DLQ.
        var produced = await kafka.ReadAllAsync(target, TimeSpan.FromSeconds(30));
        Assert.Equal(good.Order(), IdsOf([.. produced.Select(m => m.Message.Value)]).Order());
        var deadLetters = await kafka.ReadAllAsync(source + ".dlq", TimeSpan.FromSeconds(30));
        Assert.Equal(count - good.Count, deadLetters.Count);
        Assert.All(deadLetters, l => Assert.Equal(DecodeStage.StageName, Header(l, DeadLetterStage.StageHeader)));

        await stop.CancelAsync();
        var summary = await run.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(count, summary.Read);
        Assert.Equal(good.Count, summary.Coded + summary.Uncoded);
        Assert.Equal(count - good.Count, summary.DeadLettered);
        Assert.Equal(0, summary.NotAcknowledged);
    }

    [Fact]
    public async Task Produce_stops_with_exit_code_2_naming_a_model_directory_it_cannot_load()
    {
        var directory = $"/nonexistent/codec-{Guid.NewGuid():N}";

        var result = await ExternalProcess.RunAsync(PipelineProcess.DotnetHost,
            [PipelineProcess.PipelineDll, "produce", "--stdin", "--model", directory, "--topic", "t", "--bootstrap-servers", kafka.BootstrapServers],
            stdin: "", timeout: TimeSpan.FromMinutes(1));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--model", result.Stderr);
        Assert.Contains(directory, result.Stderr);
    }

    private bool CommittedToTheEnd(string topic, int partitions, string group)
    {
        // Reads the group's committed offsets without joining it.
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = kafka.BootstrapServers, GroupId = group }).Build();
        var committed = consumer.Committed(Enumerable.Range(0, partitions).Select(p => new TopicPartition(topic, p)), TimeSpan.FromSeconds(10));
        return committed.All(c => c.Offset.Value == consumer.QueryWatermarkOffsets(c.TopicPartition, TimeSpan.FromSeconds(10)).High.Value);
    }

    private async Task<string> CreateTableAsync()
    {
        var table = await clickHouse.CreateEventsTableAsync();
        await clickHouse.Server.QueryAsync($"ALTER TABLE {table} ADD COLUMN screen Nullable(String), ADD COLUMN level Nullable(UInt32)");
        return table;
    }

    private (byte[] UnknownModel, byte[] Corrupt) BadEnvelopes()
    {
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = 42 });
        var envelopes = new byte[]?[2];
        using (var codec = EventCodec.Load(trained.Directory))
            codec.Encode([generator.NextEvent(), generator.NextEvent()], envelopes);
        var unknownModel = envelopes[0]!;
        Assert.Equal(7, unknownModel[2]); // the model id, a one-byte varint
        unknownModel[2] = 9;
        return (unknownModel, envelopes[1]![..3]);
    }

    /// <summary>The event ids of produced messages, whichever form each went out in (format 2 with its record timestamp and key).</summary>
    private List<Guid> IdsOf(IReadOnlyList<byte[]> values, IReadOnlyList<long>? recordTimestamps = null, string? model = null, IReadOnlyList<byte[]?>? keys = null)
    {
        var envelopes = Enumerable.Range(0, values.Count).Where(i => CodecEnvelope.IsEnvelope(values[i])).ToList();
        using var registry = CodecRegistry.Load([model ?? trained.Directory]);
        var results = new EnvelopeDecodeResult[envelopes.Count];
        registry.Decode([.. envelopes.Select(i => (ReadOnlyMemory<byte>)values[i])], [.. envelopes.Select(i => recordTimestamps?[i] ?? 0)],
            keys is null ? null : [.. envelopes.Select(i => keys[i])], results);
        var json = new EventDecoder(new EventDecoderOptions());
        var next = 0;
        return [.. values.Select(v => CodecEnvelope.IsEnvelope(v) ? results[next++].Event!.EventId : json.Decode(v).Event!.EventId)];
    }

    private static Dictionary<string, long> Summary(string stdout) =>
        Regex.Matches(stdout, @"(\w+)=(\d+)").ToDictionary(m => m.Groups[1].Value, m => long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));

    private static string Header(ConsumeResult<byte[]?, byte[]> letter, string key) =>
        Encoding.UTF8.GetString(letter.Message.Headers.GetLastBytes(key));
}
