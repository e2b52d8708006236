using System.CommandLine;
using System.Globalization;
using EventPipeline.Host.Commands.Dlq;
using EventPipeline.Host.Configuration;
using EventPipeline.Stages;
using Microsoft.Extensions.Configuration;

namespace EventPipeline.Host.Commands;

/// <param name="DeadLetterTopic">--dlq-topic, DeadLetter:Topic, or &lt;Kafka:Topic&gt;.dlq.</param>
/// <param name="ToTopic">replay: where the messages go instead of each one's pipeline.source.topic.</param>
/// <param name="ClientProperties">The security keys of Kafka:Properties (security.*, sasl.*, ssl.*), for both clients.</param>
internal sealed record DlqRequest(string BootstrapServers, string DeadLetterTopic, DeadLetterFilter Filter, bool Json, TimeSpan Timeout,
    IReadOnlyDictionary<string, string> ClientProperties, string? ToTopic = null, bool DryRun = false);

/// <summary>
/// <c>pipeline dlq list</c> and <c>pipeline dlq replay</c>: read the dead-letter topic without a consumer group, from the
/// beginning up to the high watermark at start, filter, and print or re-produce the original messages.
/// </summary>
internal static class DlqCommand
{
    public static Command Create() => new("dlq", "Inspect and replay the dead-letter topic (<Kafka:Topic>.dlq or DeadLetter:Topic).")
    {
        CreateSubcommand("list", "List dead letters (partition@offset, time, kind, stage, source, size, reason) and a count by kind.", replay: false),
        CreateSubcommand("replay", "Re-produce matching dead letters' original key, value and headers to their source topic (acks=all, idempotent), " +
            "with pipeline.replayed.from=<dlq partition@offset>.", replay: true),
    };

    private static Command CreateSubcommand(string name, string description, bool replay)
    {
        var bootstrap = new Option<string?>("--bootstrap-servers") { Description = "Brokers (default: Kafka:BootstrapServers)." };
        var topic = new Option<string?>("--topic") { Description = "The pipeline's source topic (default: Kafka:Topic); the dead-letter topic defaults to <topic>.dlq." };
        var dlqTopic = new Option<string?>("--dlq-topic") { Description = "The dead-letter topic (default: DeadLetter:Topic, else <topic>.dlq)." };
        var kind = new Option<string[]>("--kind") { Description = "Only these kinds (pipeline.reason.kind); repeat it or give a comma list." };
        var stage = new Option<string?>("--stage") { Description = "Only dead letters of this stage (pipeline.stage: decode, encode, clickhouse, codec...)." };
        var since = new Option<string?>("--since") { Description = "Only dead letters written at or after this time: ISO-8601 (UTC unless an offset is given) or an age like 30m, 2h, 7d." };
        var until = new Option<string?>("--until") { Description = "Only dead letters written before this time (same forms as --since)." };
        var sourcePartition = new Option<string[]>("--source-partition") { Description = "Only dead letters from these source partitions; repeat it or give a comma list." };
        var format = new Option<string>("--format") { Description = "text (default) or json.", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json");
        var timeout = new Option<int>("--timeout-s") { Description = "How long reading the topic to its end (and, for replay, the deliveries) may take.", DefaultValueFactory = _ => 60 };
        var command = new Command(name, description) { bootstrap, topic, dlqTopic, kind, stage, since, until, sourcePartition, format, timeout };
        Option<string?>? toTopic = null;
        Option<bool>? dryRun = null;
        if (replay)
        {
            toTopic = new Option<string?>("--to-topic") { Description = "Produce here instead of each dead letter's source topic (pipeline.source.topic)." };
            dryRun = new Option<bool>("--dry-run") { Description = "Print what would be replayed; produce nothing." };
            command.Add(toTopic);
            command.Add(dryRun);
        }
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, cancellationToken) =>
        {
            var configuration = PipelineSettings.BuildConfiguration(parse.UnmatchedTokens);
            var (request, problem) = ReadRequest(configuration, DateTimeOffset.UtcNow,
                parse.GetValue(bootstrap), parse.GetValue(topic), parse.GetValue(dlqTopic), parse.GetValue(kind), parse.GetValue(stage),
                parse.GetValue(since), parse.GetValue(until), parse.GetValue(sourcePartition), parse.GetValue(format)!, parse.GetValue(timeout),
                toTopic is null ? null : parse.GetValue(toTopic), dryRun is not null && parse.GetValue(dryRun));
            if (problem is not null)
            {
                await Console.Error.WriteLineAsync($"configuration error: {problem}").ConfigureAwait(false);
                return 2;
            }
            using var shutdown = new ShutdownSignal();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, shutdown.Token);
            return await Task.Run(() => replay ? Replay(request!, Console.Out, Console.Error, stop.Token) : List(request!, Console.Out, Console.Error, stop.Token),
                CancellationToken.None).ConfigureAwait(false);
        });
        return command;
    }

    /// <returns>The request, or the problem (naming the option or configuration key).</returns>
    internal static (DlqRequest? Request, string? Problem) ReadRequest(IConfiguration configuration, DateTimeOffset now,
        string? bootstrap, string? topic, string? dlqTopic, string[]? kinds, string? stage, string? since, string? until, string[]? sourcePartitions,
        string format, int timeoutSeconds, string? toTopic = null, bool dryRun = false)
    {
        var servers = bootstrap ?? configuration["Kafka:BootstrapServers"];
        if (string.IsNullOrWhiteSpace(servers))
            return (null, "--bootstrap-servers (or Kafka:BootstrapServers) is required");
        var source = topic ?? configuration["Kafka:Topic"];
        var deadLetters = dlqTopic ?? configuration["DeadLetter:Topic"];
        if (string.IsNullOrWhiteSpace(deadLetters))
        {
            if (string.IsNullOrWhiteSpace(source))
                return (null, "--dlq-topic (or DeadLetter:Topic), or --topic (or Kafka:Topic) to derive <topic>.dlq, is required");
            deadLetters = $"{source}.dlq";
        }
        if (toTopic is not null && string.IsNullOrWhiteSpace(toTopic))
            return (null, "--to-topic must not be empty");
        DateTimeOffset? from = null, to = null;
        if (since is not null && (from = TimeArgument.Parse(since, now)) is null)
            return (null, $"--since '{since}' is neither an ISO-8601 time nor an age like 30m, 2h, 7d");
        if (until is not null && (to = TimeArgument.Parse(until, now)) is null)
            return (null, $"--until '{until}' is neither an ISO-8601 time nor an age like 30m, 2h, 7d");
        if (from is not null && to is not null && from >= to)
            return (null, $"--since ({from:O}) must be before --until ({to:O})");
        var partitions = new HashSet<int>();
        foreach (var text in DeadLetterFilter.SplitList(sourcePartitions))
        {
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var partition))
                return (null, $"--source-partition '{text}' is not a partition number");
            partitions.Add(partition);
        }
        if (timeoutSeconds < 1)
            return (null, $"--timeout-s must be positive (got {timeoutSeconds})");
        var properties = KafkaSecurityProperties.Select(PipelineSettings.ReadKafkaProperties(configuration));
        var filter = new DeadLetterFilter(DeadLetterFilter.SplitList(kinds), string.IsNullOrWhiteSpace(stage) ? null : stage.Trim(), from, to, partitions);
        return (new DlqRequest(servers, deadLetters, filter, format == "json", TimeSpan.FromSeconds(timeoutSeconds), properties, toTopic, dryRun), null);
    }

    internal static int List(DlqRequest request, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        using var report = new DeadLetterReport(stdout, request.Json);
        long read;
        try
        {
            read = DeadLetterReader.Read(request.BootstrapServers, request.DeadLetterTopic, request.ClientProperties, request.Timeout, record =>
            {
                if (request.Filter.Matches(record))
                    report.Add(record);
            }, cancellationToken);
        }
        catch (DeadLetterReadException ex)
        {
            stderr.WriteLine($"error: {ex.Message}");
            return 1;
        }
        report.Finish([("read", read)]);
        return 0;
    }

    internal static int Replay(DlqRequest request, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        using var report = new DeadLetterReport(stdout, request.Json);
        using var replayer = request.DryRun ? null : new DeadLetterReplayer(request.BootstrapServers, request.ClientProperties);
        long read, unroutable = 0;
        try
        {
            read = DeadLetterReader.Read(request.BootstrapServers, request.DeadLetterTopic, request.ClientProperties, request.Timeout, record =>
            {
                if (!request.Filter.Matches(record))
                    return;
                var target = request.ToTopic ?? record.SourceTopic;
                if (string.IsNullOrEmpty(target))
                {
                    // Written by something other than the dead-letter stage: there is nowhere to send it back to.
                    unroutable++;
                    stderr.WriteLine($"{record.Position}: no pipeline.source.topic header; give --to-topic to replay it");
                    return;
                }
                report.Add(record, target);
                replayer?.Replay(record, target);
            }, cancellationToken);
            replayer?.WaitForDeliveries(cancellationToken);
        }
        catch (DeadLetterReadException ex)
        {
            // What was produced before the failure is still waited for, so that the counts below are true.
            replayer?.WaitForDeliveries(cancellationToken);
            stderr.WriteLine($"error: {ex.Message}");
            if (replayer is not null)
                stderr.WriteLine($"replayed={replayer.Delivered} failed={replayer.Failed} before the error");
            return 1;
        }
        if (replayer is null)
        {
            report.Finish([("read", read), ("would_replay", report.Matched), ("unroutable", unroutable), ("dry_run", 1)]);
            return unroutable > 0 ? 1 : 0;
        }
        report.Finish([("read", read), ("replayed", replayer.Delivered), ("failed", replayer.Failed), ("unroutable", unroutable)]);
        if (replayer.Failed > 0)
            stderr.WriteLine($"error: {replayer.Failed} of {replayer.Sent} replayed messages were not acknowledged (first: {replayer.FirstError}); " +
                "replay again with the same filters: a message that did arrive may then arrive twice (at-least-once)");
        return replayer.Failed > 0 || unroutable > 0 ? 1 : 0;
    }
}
