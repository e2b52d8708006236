using System.CommandLine;
using System.Runtime.CompilerServices;
using System.Text;
using Confluent.Kafka;
using EventPipeline.Models;
using EventPipeline.Models.Codec;
using EventPipeline.Models.Tracking;
using EventPipeline.Stages.Codec;
using EventPipeline.Stages.Events;

namespace EventPipeline.Host.Commands;

/// <summary>
/// <c>pipeline train codec</c> (train the learned event codec) and <c>pipeline codec encode|decode</c> (JSON lines to
/// base64 envelopes and back, for scripting and for looking at payloads).
/// </summary>
internal static class CodecCommand
{
    private const int LineBatch = 1024;

    public static Command CreateTrain()
    {
        var input = new Option<FileInfo?>("--input") { Description = "Training events, one JSON event per line (e.g. from `pipeline generate --output`)." };
        var fromKafka = new Option<string?>("--from-kafka") { Description = "Or read training events from this Kafka topic (raw JSON/Protobuf events)." };
        var bootstrap = new Option<string?>("--bootstrap-servers") { Description = "Brokers for --from-kafka (default: Kafka:BootstrapServers)." };
        var maxEvents = new Option<int>("--max-events") { Description = "Read at most this many events.", DefaultValueFactory = _ => 200_000 };
        var output = new Option<DirectoryInfo>("--out") { Description = "Directory for the artifact (codec.json with codec.tables.json or codec.weights).", Required = true };
        var kind = new Option<string>("--kind")
        {
            Description = "count: per-field count tables driving an rANS coder (envelope format 2, model id from the content); " +
                          "autoencoder: the format-1 autoencoder with corrections.",
            DefaultValueFactory = _ => CodecMetadata.CountKind,
        };
        kind.AcceptOnlyFromAmong(CodecMetadata.CountKind, CodecMetadata.AutoencoderKind);
        var seed = new Option<int>("--seed") { Description = "Seed for the network's initialisation and the shuffling.", DefaultValueFactory = _ => 42 };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training events.", DefaultValueFactory = _ => 6 };
        var modelId = new Option<int?>("--model-id") { Description = "Autoencoder only: id written into every envelope (1..65535), required; count models derive theirs from their content." };
        var latentDims = new Option<int>("--latent-dims") { Description = "Latent dimensions.", DefaultValueFactory = _ => new CodecNetworkOptions().LatentDims };
        var latentBits = new Option<int>("--latent-bits") { Description = "Bits per latent dimension on the wire.", DefaultValueFactory = _ => new CodecNetworkOptions().LatentBits };
        var hidden = new Option<int>("--hidden") { Description = "Hidden layer width.", DefaultValueFactory = _ => new CodecNetworkOptions().Hidden };
        var performance = new PerformanceTracking(
            "ClickHouse HTTP URL: the model's bytes/event, round-trip mismatches and events/s on its held-out events and on shifted ones are recorded in --clickhouse-table.");
        var command = new Command("codec", "Train the learned event codec (autoencoder over the categorical fields + exact side channel).")
        {
            input, fromKafka, bootstrap, maxEvents, output, kind, seed, epochs, modelId, latentDims, latentBits, hidden,
        };
        foreach (var option in performance.Options)
            command.Options.Add(option);
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, cancellationToken) =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            var count = parse.GetValue(kind) == CodecMetadata.CountKind;
            if (count == parse.GetValue(modelId).HasValue)
            {
                // A reused id with other contents turns old consumers' decodes into dead letters or wrong rows.
                await stderr.WriteLineAsync(count
                    ? "--model-id is only for --kind autoencoder: a count model's id is derived from its content"
                    : "--kind autoencoder needs --model-id (a new one for every retrained model)").ConfigureAwait(false);
                return 2;
            }
            var options = new CodecTrainingOptions
            {
                Seed = parse.GetValue(seed),
                Epochs = parse.GetValue(epochs),
                ModelId = parse.GetValue(modelId) ?? 0,
                Network = new CodecNetworkOptions { LatentDims = parse.GetValue(latentDims), LatentBits = parse.GetValue(latentBits), Hidden = parse.GetValue(hidden) },
            };
            if ((!count && options.ModelId is < 1 or > ushort.MaxValue) || options.Epochs < 1 || options.Network.LatentDims < 1 || options.Network.LatentBits is < 1 or > 16
                || options.Network.Hidden < 1)
            {
                await stderr.WriteLineAsync("--model-id must be 1..65535, --epochs, --latent-dims and --hidden at least 1, --latent-bits 1..16").ConfigureAwait(false);
                return 2;
            }
            using var clickHouse = performance.Connect(parse);
            var tracking = clickHouse is null ? null : new ModelPerformanceTable(clickHouse, parse.GetValue(performance.Table)!);
            // The table is checked before the events are read and the model trained.
            if (tracking is not null && await PerformanceTracking.CheckAsync(tracking, parse.GetValue(performance.Url)!, stderr, cancellationToken).ConfigureAwait(false) is { } failed)
                return failed;
            List<AnalyticsEvent> events;
            int rejected;
            string source;
            if (parse.GetValue(input) is { } file)
            {
                if (!file.Exists)
                {
                    await stderr.WriteLineAsync($"--input {file.FullName} does not exist").ConfigureAwait(false);
                    return 2;
                }
                using var reader = file.OpenText();
                (events, rejected) = await ReadJsonLinesAsync(reader, parse.GetValue(maxEvents), cancellationToken).ConfigureAwait(false);
                source = $"file {file.Name}";
            }
            else if (parse.GetValue(fromKafka) is { } topic)
            {
                var servers = parse.GetValue(bootstrap) ?? Configuration.PipelineSettings.BuildConfiguration(parse.UnmatchedTokens)["Kafka:BootstrapServers"];
                if (string.IsNullOrWhiteSpace(servers))
                {
                    await stderr.WriteLineAsync("--from-kafka needs --bootstrap-servers or Kafka:BootstrapServers").ConfigureAwait(false);
                    return 2;
                }
                (events, rejected) = ReadTopic(servers, topic, parse.GetValue(maxEvents), cancellationToken);
                source = $"kafka topic {topic}";
            }
            else
            {
                await stderr.WriteLineAsync("one of --input FILE.jsonl or --from-kafka TOPIC is required").ConfigureAwait(false);
                return 2;
            }
            stderr.WriteLine($"{events.Count:N0} training events from {source} ({rejected:N0} undecodable lines skipped); torch on {TorchRuntime.Device.type}");
            var directory = parse.GetValue(output)!.FullName;
            CodecMetadata metadata;
            if (count)
            {
                metadata = EntropyTrainer.Train(events, options.HoldOutFraction, source, directory, stderr.WriteLine);
                stdout.WriteLine($"model {metadata.ModelId} ({metadata.Version}) -> {directory}: {metadata.Evaluation.BytesPerEvent:F1} B/event " +
                                 $"(canonical JSON {metadata.Evaluation.CanonicalJsonBytesPerEvent:F1}), {metadata.Evaluation.RoundTripMismatches} round-trip mismatches");
            }
            else
            {
                metadata = CodecTrainer.Train(events, options with { Source = source }, directory, stderr.WriteLine);
                stdout.WriteLine($"model {metadata.ModelId} ({metadata.Version}) -> {directory}: {metadata.Evaluation.BytesPerEvent:F1} B/event " +
                                 $"(featurizer alone {metadata.Evaluation.FeaturizerOnlyBytesPerEvent:F1}, canonical JSON {metadata.Evaluation.CanonicalJsonBytesPerEvent:F1}), " +
                                 $"{metadata.Evaluation.RoundTripMismatches} round-trip mismatches");
            }
            var exitCode = metadata.Evaluation.RoundTripMismatches == 0 ? 0 : 1;
            if (tracking is null)
                return exitCode;
            var rows = ModelPerformanceReport.ForCodec(metadata, CodecPerformance.Measure(directory, HeldOutSplit.Split(events, options.HoldOutFraction).HeldOut),
                DateTime.UtcNow).ToList();
            return Math.Max(exitCode, await TrainCommand.RecordPerformanceAsync(tracking, rows, stdout, stderr, cancellationToken).ConfigureAwait(false));
        });
        return command;
    }

    public static Command Create()
    {
        var models = new Option<DirectoryInfo[]>("--model") { Description = "Codec artifact directory (decode: repeat it to load several model versions).", Required = true, AllowMultipleArgumentsPerToken = true };
        var encode = new Command("encode",
            "JSON events on stdin, one per line -> one base64 envelope per line on stdout; with a format-2 (count) model each line is " +
            "'RECORD_TIMESTAMP_MS BASE64', the record timestamp the envelope must travel with (the latest event time so far, as a producer's clock).") { models };
        encode.SetAction(async (parse, cancellationToken) =>
        {
            var directories = parse.GetValue(models)!;
            using var codec = CodecArtifact.LoadModel(directories[0].FullName);
            var withTimestamps = codec.FormatVersion == CodecEnvelope.EntropyFormatVersion;
            var clock = long.MinValue;
            var decoder = new EventDecoder(new EventDecoderOptions());
            var failed = 0;
            var lineNumber = 0;
            var stdout = Console.Out;
            using var stdin = new StreamReader(Console.OpenStandardInput(), Encoding.UTF8);
            await foreach (var lines in ReadLineBatchesAsync(stdin, cancellationToken).ConfigureAwait(false))
            {
                var events = new List<AnalyticsEvent>(lines.Count);
                for (var i = 0; i < lines.Count; i++)
                {
                    var result = decoder.Decode(Encoding.UTF8.GetBytes(lines[i]));
                    if (result.IsSuccess)
                        events.Add(result.Event!);
                    else
                    {
                        failed++;
                        await Console.Error.WriteLineAsync($"line {lineNumber + i + 1}: {result.Error!.Value.Reason}").ConfigureAwait(false);
                    }
                }
                var envelopes = new byte[]?[events.Count];
                var timestamps = new long[events.Count];
                for (var j = 0; j < events.Count; j++)
                    timestamps[j] = clock = Math.Max(clock, events[j].EventTimestampMs);
                codec.Encode(events, timestamps, envelopes);
                for (var j = 0; j < events.Count; j++)
                {
                    var base64 = Convert.ToBase64String(envelopes[j] ?? EventJsonWriter.Write(events[j]));
                    await stdout.WriteLineAsync(withTimestamps ? $"{timestamps[j]} {base64}" : base64).ConfigureAwait(false);
                }
                lineNumber += lines.Count;
            }
            await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
            return failed == 0 ? 0 : 1;
        });

        var decode = new Command("decode",
            "Base64 envelopes on stdin, one per line, format-2 ones as 'RECORD_TIMESTAMP_MS BASE64' -> JSON events on stdout (uncoded JSON passes through).") { models };
        decode.SetAction(async (parse, cancellationToken) =>
        {
            using var registry = CodecRegistry.Load(parse.GetValue(models)!.Select(d => d.FullName));
            var decoder = new EventDecoder(new EventDecoderOptions());
            var failed = 0;
            var lineNumber = 0;
            using var stdin = new StreamReader(Console.OpenStandardInput(), Encoding.UTF8);
            using var stdout = Console.OpenStandardOutput();
            await foreach (var lines in ReadLineBatchesAsync(stdin, cancellationToken).ConfigureAwait(false))
            {
                var payloads = new ReadOnlyMemory<byte>[lines.Count];
                var timestamps = new long[lines.Count];
                var errors = new string?[lines.Count];
                for (var i = 0; i < lines.Count; i++)
                {
                    var line = lines[i].AsSpan();
                    var space = line.IndexOf(' ');
                    if (space > 0 && !long.TryParse(line[..space], System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out timestamps[i]))
                    {
                        errors[i] = "the record timestamp before the envelope is not an integer";
                        continue;
                    }
                    try
                    {
                        payloads[i] = Convert.FromBase64String(lines[i][(space + 1)..]);
                    }
                    catch (FormatException)
                    {
                        errors[i] = "not base64";
                    }
                }
                var envelopeIndexes = Enumerable.Range(0, lines.Count).Where(i => errors[i] is null && CodecEnvelope.IsEnvelope(payloads[i].Span)).ToList();
                var results = new EnvelopeDecodeResult[envelopeIndexes.Count];
                registry.Decode([.. envelopeIndexes.Select(i => payloads[i])], [.. envelopeIndexes.Select(i => timestamps[i])], results);
                var decoded = new AnalyticsEvent?[lines.Count];
                for (var j = 0; j < envelopeIndexes.Count; j++)
                {
                    decoded[envelopeIndexes[j]] = results[j].Event;
                    errors[envelopeIndexes[j]] ??= results[j].Reason;
                }
                for (var i = 0; i < lines.Count; i++)
                {
                    if (errors[i] is null && decoded[i] is null)
                    {
                        var plain = decoder.Decode(payloads[i].Span);
                        decoded[i] = plain.Event;
                        errors[i] = plain.Error?.Reason;
                    }
                    if (decoded[i] is { } e)
                    {
                        await stdout.WriteAsync(EventJsonWriter.Write(e), cancellationToken).ConfigureAwait(false);
                        stdout.WriteByte((byte)'\n');
                    }
                    else
                    {
                        failed++;
                        await Console.Error.WriteLineAsync($"line {lineNumber + i + 1}: {errors[i]}").ConfigureAwait(false);
                    }
                }
                lineNumber += lines.Count;
            }
            return failed == 0 ? 0 : 1;
        });
        return new Command("codec", "Encode and decode events with a trained codec model.") { encode, decode };
    }

    /// <summary>Lines in batches of up to <see cref="LineBatch"/>: one encode or decode call (one forward pass) per batch.</summary>
    private static async IAsyncEnumerable<List<string>> ReadLineBatchesAsync(TextReader reader, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var lines = new List<string>(LineBatch);
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            lines.Add(line);
            if (lines.Count == LineBatch)
            {
                yield return lines;
                lines = new List<string>(LineBatch);
            }
        }
        if (lines.Count > 0)
            yield return lines;
    }

    internal static async Task<(List<AnalyticsEvent> Events, int Rejected)> ReadJsonLinesAsync(TextReader reader, int max, CancellationToken cancellationToken)
    {
        var decoder = new EventDecoder(new EventDecoderOptions());
        var events = new List<AnalyticsEvent>();
        var rejected = 0;
        while (events.Count < max && await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.Length == 0)
                continue;
            var result = decoder.Decode(Encoding.UTF8.GetBytes(line));
            if (result.IsSuccess)
                events.Add(result.Event!);
            else
                rejected++;
        }
        return (events, rejected);
    }

    private static (List<AnalyticsEvent> Events, int Rejected) ReadTopic(string servers, string topic, int max, CancellationToken cancellationToken)
    {
        var decoder = new EventDecoder(new EventDecoderOptions());
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = servers,
            GroupId = $"codec-trainer-{Guid.NewGuid():N}", // reads from the start, commits nothing
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
            EnablePartitionEof = true,
        }).Build();
        consumer.Subscribe(topic);
        var events = new List<AnalyticsEvent>();
        var rejected = 0;
        var idleSince = DateTime.UtcNow;
        var atEnd = new HashSet<int>();
        while (events.Count < max && !cancellationToken.IsCancellationRequested)
        {
            var record = consumer.Consume(TimeSpan.FromMilliseconds(500));
            if (record is null)
            {
                if (DateTime.UtcNow - idleSince > TimeSpan.FromSeconds(10))
                    break;
                continue;
            }
            idleSince = DateTime.UtcNow;
            if (record.IsPartitionEOF)
            {
                atEnd.Add(record.Partition.Value);
                if (atEnd.Count == consumer.Assignment.Count)
                    break;
                continue;
            }
            atEnd.Remove(record.Partition.Value);
            var result = decoder.Decode(record.Message.Value ?? []);
            if (result.IsSuccess)
                events.Add(result.Event!);
            else
                rejected++;
        }
        consumer.Close();
        return (events, rejected);
    }
}
