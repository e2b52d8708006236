using System.CommandLine;
using EventPipeline.Host.Configuration;
using EventPipeline.DevTools.Generation;
using EventPipeline.Stages.Events;
using EventPipeline.DevTools.Events;
using EventPipeline.Stages.Partitioning;

namespace EventPipeline.Host.Commands;

internal static class GenerateCommand
{
    public static Command Create()
    {
        var events = new Option<long>("--events") { Description = "How many events to produce.", DefaultValueFactory = _ => 100_000 };
        var rate = new Option<double>("--rate") { Description = "Events per second; 0 = as fast as possible.", DefaultValueFactory = _ => 0 };
        var malformed = new Option<double>("--malformed") { Description = "Fraction (0..1) of malformed messages.", DefaultValueFactory = _ => 0 };
        var protobuf = new Option<double>("--protobuf") { Description = "Fraction (0..1) of good events sent as Confluent-framed Protobuf.", DefaultValueFactory = _ => 0 };
        var seed = new Option<int>("--seed") { Description = "Generator seed (same seed, same events).", DefaultValueFactory = _ => 42 };
        var startMs = new Option<long?>("--start-ms") { Description = "Event time of the first event, epoch ms (default: now). Fix it to make a file reproducible." };
        var apps = new Option<int>("--apps") { Description = "Distinct app_ids (Zipf-skewed).", DefaultValueFactory = _ => 50 };
        var topic = new Option<string?>("--topic") { Description = "Target topic (default: Kafka:Topic)." };
        var bootstrap = new Option<string?>("--bootstrap-servers") { Description = "Brokers (default: Kafka:BootstrapServers)." };
        var roundRobin = new Option<bool>("--round-robin") { Description = "Unkeyed messages spread evenly over partitions (a backlog for the embedded broker, which keeps only ~5 MiB per partition)." };
        var partitioner = PartitionerOption.Create();
        var appSkew = new Option<double>("--app-skew") { Description = "Zipf exponent of events over apps (app i gets 1/(i+1)^s).", DefaultValueFactory = _ => 1.2 };
        var output = new Option<FileInfo?>("--output") { Description = "Write JSON lines to this file instead of Kafka ('-' for stdout)." };
        var distribution = new Option<EventDistribution>("--distribution")
        {
            Description = "training, or shifted: held-out apps, countries, OS versions and event mix, ~5 months after the start, for evaluating models trained on training.",
            DefaultValueFactory = _ => EventDistribution.Training,
        };
        var command = new Command("generate", "Produce synthetic mobile analytics events (skewed app_ids, optional malformed share).")
        {
            events, rate, malformed, protobuf, seed, apps, appSkew, topic, bootstrap, roundRobin, partitioner, output, distribution, startMs,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, cancellationToken) =>
        {
            var generatorOptions = new EventGeneratorOptions
            {
                Seed = parse.GetValue(seed),
                AppCount = parse.GetValue(apps),
                AppSkew = parse.GetValue(appSkew),
                MalformedFraction = parse.GetValue(malformed),
                ProtobufFraction = parse.GetValue(protobuf),
                StartTimestampMs = parse.GetValue(startMs) ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
                Distribution = parse.GetValue(distribution),
            };
            if (generatorOptions.MalformedFraction is < 0 or > 1 || generatorOptions.ProtobufFraction is < 0 or > 1)
            {
                await Console.Error.WriteLineAsync("--malformed and --protobuf must be between 0 and 1").ConfigureAwait(false);
                return 2;
            }
            var count = parse.GetValue(events);
            if (parse.GetValue(output) is { } file)
                return await WriteFileAsync(file, count, generatorOptions, cancellationToken).ConfigureAwait(false);

            var configuration = PipelineSettings.BuildConfiguration(parse.UnmatchedTokens);
            var servers = parse.GetValue(bootstrap) ?? configuration["Kafka:BootstrapServers"];
            var target = parse.GetValue(topic) ?? configuration["Kafka:Topic"];
            if (string.IsNullOrWhiteSpace(servers) || string.IsNullOrWhiteSpace(target))
            {
                await Console.Error.WriteLineAsync("configuration error: Kafka:BootstrapServers and Kafka:Topic (or --bootstrap-servers and --topic) are required").ConfigureAwait(false);
                return 2;
            }
            PartitionerOptions? partitioning = null;
            IFanOutPolicy? learnedPolicy = null;
            if (!parse.GetValue(roundRobin))
            {
                try
                {
                    (partitioning, learnedPolicy) = PartitionerOption.Read(parse, configuration);
                }
                catch (ConfigurationException ex)
                {
                    await Console.Error.WriteLineAsync($"configuration error: {ex.Message}").ConfigureAwait(false);
                    return 2;
                }
            }
            else if (parse.GetValue(partitioner) is not null)
            {
                await Console.Error.WriteLineAsync("configuration error: --round-robin (unkeyed) and --partitioner (keyed) exclude each other").ConfigureAwait(false);
                return 2;
            }
            using var shutdown = new ShutdownSignal();
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, shutdown.Token);
            var limits = GenerateLimitsCheck.Before(servers, target, count, parse.GetValue(roundRobin), generatorOptions, configuration, Console.Error,
                partitioning, learnedPolicy);
            var progress = new GenerateProgress(Console.Error, count, Console.IsErrorRedirected);
            var summary = await EventProducer.ProduceAsync(
                new ProduceRequest(servers, target, count, generatorOptions, parse.GetValue(rate), parse.GetValue(roundRobin),
                    Partitioning: partitioning, LearnedPolicy: learnedPolicy),
                progress.Report, linked.Token).ConfigureAwait(false);
            progress.Finish(summary.Produced);
            limits.After(Console.Error);
            Console.WriteLine($"produced={summary.Produced} malformed={summary.Malformed} seconds={summary.Elapsed.TotalSeconds:F2} " +
                $"events_per_second={summary.Produced / Math.Max(summary.Elapsed.TotalSeconds, 1e-9):F0}");
            if (summary.Partitioner is { } placed)
            {
                var sent = placed.Sent.ToArray().Select(c => (double)c).ToArray();
                Console.WriteLine($"partitioner={PartitionStrategyNames.NameOf(placed.Strategy)} partitions={placed.PartitionCount} " +
                    $"gini={LoadBalance.Gini(sent):F3} hottest_over_mean={LoadBalance.HottestOverMean(sent):F2} " +
                    $"empty_partitions={sent.Count(c => c == 0)} partitions_per_app_mean={summary.KeySpread!.MeanPartitionsPerKey:F2} " +
                    $"partitions_per_app_max={summary.KeySpread.MaxPartitionsPerKey}");
            }
            return 0;
        });
        return command;
    }

    private static async Task<int> WriteFileAsync(FileInfo file, long count, EventGeneratorOptions options, CancellationToken cancellationToken)
    {
        var generator = new EventGenerator(options with { ProtobufFraction = 0 });
        await using var stream = file.Name == "-" ? Console.OpenStandardOutput() : file.Create();
        for (long i = 0; i < count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await stream.WriteAsync(generator.Next().Payload, cancellationToken).ConfigureAwait(false);
            stream.WriteByte((byte)'\n');
        }
        return 0;
    }
}
