using System.Text;
using System.Text.Json;
using EventPipeline.Tests.Infrastructure;

namespace EventPipeline.Tests.OperatorTools;

/// <summary><c>pipeline dlq list</c> as a child process against dead letters carrying the dead-letter stage's headers.</summary>
[Collection(KafkaCollection.Name)]
public sealed class DlqListTests(KafkaFixture kafka)
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    // (kind, stage, source partition); dead letter i was written at Start + i hours from source offset 100 + i.
    private static readonly (string Kind, string Stage, int Partition)[] Letters =
    [
        ("malformed", "decode", 0), ("malformed", "decode", 1), ("malformed", "decode", 2), ("missing_field", "decode", 0),
        ("missing_field", "decode", 1), ("oversize", "decode", 0), ("column_value", "encode", 3), ("column_value", "encode", 0),
        ("clickhouse_rejected", "sink", 1), ("unknown_schema", "decode", 2),
    ];

    private string FillDeadLetterTopic()
    {
        var source = kafka.CreateTopic(partitions: 4);
        kafka.Cluster.CreateTopic(source + ".dlq", 3);
        kafka.ProduceAll(source + ".dlq", Letters.Select((l, i) => PipelineCli.DeadLetter(l.Kind, l.Stage, source, l.Partition, 100 + i,
            value: new byte[10 + i], timestamp: Start.AddHours(i))));
        return source;
    }

    [Fact]
    public async Task Lists_every_dead_letter_with_its_coordinates_and_counts_by_kind()
    {
        var source = FillDeadLetterTopic();

        var result = await PipelineCli.RunAsync("dlq", "list", "--bootstrap-servers", kafka.BootstrapServers, "--topic", source);

        Assert.Equal(0, result.ExitCode);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(10 + 1 + 6, lines.Length);
        var line = Assert.Single(lines, l => l.Contains($"source={source}/3@106", StringComparison.Ordinal));
        Assert.Matches(@"^[0-2]@\d+ 2026-03-01T06:00:00\.000Z kind=column_value stage=encode source=" + source + @"/3@106 size=16 reason=""column_value at 3@106""$", line);
        Assert.Equal(
            ["matched=10 read=10", "kind=clickhouse_rejected count=1", "kind=column_value count=2", "kind=malformed count=3",
             "kind=missing_field count=2", "kind=oversize count=1", "kind=unknown_schema count=1"],
            lines[10..]);
    }

    [Theory]
    [InlineData(new[] { "--kind", "malformed,missing_field", "--kind", "oversize" }, 6, "kind=malformed count=3|kind=missing_field count=2|kind=oversize count=1")]
    [InlineData(new[] { "--stage", "encode" }, 2, "kind=column_value count=2")]
    [InlineData(new[] { "--source-partition", "0", "--source-partition", "2" }, 6, "kind=column_value count=1|kind=malformed count=2|kind=missing_field count=1|kind=oversize count=1|kind=unknown_schema count=1")]
    [InlineData(new[] { "--since", "2026-03-01T03:00:00Z", "--until", "2026-03-01T07:00:00Z" }, 4, "kind=column_value count=1|kind=missing_field count=2|kind=oversize count=1")]
    [InlineData(new[] { "--stage", "decode", "--source-partition", "0", "--since", "2026-03-01T01:00:00" }, 2, "kind=missing_field count=1|kind=oversize count=1")]
    [InlineData(new[] { "--kind", "no_such_kind" }, 0, "")]
    public async Task Filters_by_kind_stage_source_partition_and_time(string[] filter, int matched, string byKind)
    {
        var source = FillDeadLetterTopic();

        var result = await PipelineCli.RunAsync(["dlq", "list", "--bootstrap-servers", kafka.BootstrapServers, "--topic", source, .. filter]);

        Assert.Equal(0, result.ExitCode);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var summary = Array.IndexOf(lines, $"matched={matched} read=10");
        Assert.Equal(matched, summary);
        Assert.Equal(byKind, string.Join('|', lines[(summary + 1)..]));
    }

    [Fact]
    public async Task Json_format_gives_one_document_with_every_field_and_the_summary()
    {
        var source = FillDeadLetterTopic();

        var result = await PipelineCli.RunAsync("dlq", "list", "--bootstrap-servers", kafka.BootstrapServers, "--topic", source,
            "--kind", "malformed", "--format", "json");

        Assert.Equal(0, result.ExitCode);
        using var document = JsonDocument.Parse(result.Stdout);
        var letters = document.RootElement.GetProperty("dead_letters").EnumerateArray().OrderBy(l => l.GetProperty("source_offset").GetInt64()).ToList();
        Assert.Equal([100L, 101L, 102L], letters.Select(l => l.GetProperty("source_offset").GetInt64()));
        Assert.Equal([0, 1, 2], letters.Select(l => l.GetProperty("source_partition").GetInt32()));
        Assert.Equal([10, 11, 12], letters.Select(l => l.GetProperty("value_bytes").GetInt32()));
        Assert.Equal(["2026-03-01T00:00:00.000Z", "2026-03-01T01:00:00.000Z", "2026-03-01T02:00:00.000Z"], letters.Select(l => l.GetProperty("timestamp").GetString()));
        Assert.All(letters, l =>
        {
            Assert.Equal("decode", l.GetProperty("stage").GetString());
            Assert.Equal(source, l.GetProperty("source_topic").GetString());
            Assert.Equal(0, l.GetProperty("replays").GetInt32());
        });
        Assert.Equal("malformed at 1@101", letters[1].GetProperty("reason").GetString());
        var summary = document.RootElement.GetProperty("summary");
        Assert.Equal(3, summary.GetProperty("matched").GetInt64());
        Assert.Equal(10, summary.GetProperty("read").GetInt64());
        Assert.Equal("""{"malformed":3}""", summary.GetProperty("by_kind").GetRawText());
    }

    [Fact]
    public async Task Relative_since_counts_back_from_now()
    {
        var source = kafka.CreateTopic(partitions: 1);
        kafka.Cluster.CreateTopic(source + ".dlq", 1);
        var now = DateTimeOffset.UtcNow;
        kafka.ProduceAll(source + ".dlq", new[] { 49, 25, 3, 0 }.Select((hoursAgo, i) =>
            PipelineCli.DeadLetter("malformed", "decode", source, 0, i, Encoding.UTF8.GetBytes("{"), timestamp: now.AddHours(-hoursAgo).AddMinutes(-5))));

        var lastDay = await PipelineCli.RunAsync("dlq", "list", "--bootstrap-servers", kafka.BootstrapServers, "--dlq-topic", source + ".dlq", "--since", "1d");
        var lastTwoDaysButNotToday = await PipelineCli.RunAsync("dlq", "list", "--bootstrap-servers", kafka.BootstrapServers, "--dlq-topic", source + ".dlq",
            "--since", "2d", "--until", "24h");

        Assert.Equal(0, lastDay.ExitCode);
        Assert.Contains("matched=2 read=4\n", lastDay.Stdout, StringComparison.Ordinal);
        Assert.Contains("matched=1 read=4\n", lastTwoDaysButNotToday.Stdout, StringComparison.Ordinal);
        Assert.Contains($"source={source}/0@1 ", lastTwoDaysButNotToday.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--topic", "events" }, "configuration error: --bootstrap-servers (or Kafka:BootstrapServers) is required")]
    [InlineData(new[] { "--Kafka:BootstrapServers=127.0.0.1:1" }, "configuration error: --dlq-topic (or DeadLetter:Topic), or --topic (or Kafka:Topic) to derive <topic>.dlq, is required")]
    [InlineData(new[] { "--bootstrap-servers", "127.0.0.1:1", "--topic", "events", "--since", "yesterday" }, "configuration error: --since 'yesterday' is neither an ISO-8601 time nor an age like 30m, 2h, 7d")]
    [InlineData(new[] { "--bootstrap-servers", "127.0.0.1:1", "--topic", "events", "--source-partition", "one" }, "configuration error: --source-partition 'one' is not a partition number")]
    public async Task A_bad_option_exits_2_naming_it(string[] arguments, string error)
    {
        var result = await PipelineCli.RunAsync(["dlq", "list", .. arguments]);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(error, result.Stderr.Trim());
        Assert.Equal("", result.Stdout);
    }
}
