using System.Text;
using EventPipeline.Tests.Infrastructure;

namespace EventPipeline.Tests.OperatorTools;

/// <summary><c>pipeline dlq replay --dry-run</c> says what it would replay and produces nothing.</summary>
[Collection(KafkaCollection.Name)]
public sealed class DlqReplayDryRunTests(KafkaFixture kafka)
{
    [Fact]
    public async Task Dry_run_prints_the_matching_dead_letters_and_leaves_the_source_topic_empty()
    {
        var source = kafka.CreateTopic(partitions: 2);
        kafka.Cluster.CreateTopic(source + ".dlq", 2);
        kafka.ProduceAll(source + ".dlq",
        [
            PipelineCli.DeadLetter("malformed", "decode", source, 0, 7, Encoding.UTF8.GetBytes("{\"a\":")),
            PipelineCli.DeadLetter("oversize", "decode", source, 1, 8, new byte[300]),
            PipelineCli.DeadLetter("malformed", "decode", source, 1, 9, Encoding.UTF8.GetBytes("[]"), key: Encoding.UTF8.GetBytes("app")),
        ]);

        var result = await PipelineCli.RunAsync("dlq", "replay", "--bootstrap-servers", kafka.BootstrapServers, "--topic", source,
            "--kind", "malformed", "--dry-run");

        Assert.Equal(0, result.ExitCode);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Equal(
            [$"source={source}/0@7 size=5 -> {source} reason=\"malformed at 0@7\"", $"source={source}/1@9 size=2 -> {source} reason=\"malformed at 1@9\""],
            lines[..2].Select(l => l[l.IndexOf("source=", StringComparison.Ordinal)..]).Order(StringComparer.Ordinal));
        Assert.Equal("matched=2 read=3 would_replay=2 unroutable=0 dry_run=1", lines[2]);
        Assert.Equal("kind=malformed count=2", lines[3]);
        Assert.Equal(0, PipelineCli.HighWatermarkSum(kafka.BootstrapServers, source, 2));
    }
}
