using EventPipeline.Host.Commands;
using EventPipeline.Tests.Infrastructure;

namespace EventPipeline.Tests.OperatorTools;

/// <summary>
/// <c>generate</c>'s progress: rewritten in place on a terminal, but whole lines (every 10% or 2 s) when stderr is
/// redirected, so that a log file does not get one giant line.
/// </summary>
[Collection(KafkaCollection.Name)]
public sealed class GenerateProgressTests(KafkaFixture kafka)
{
    [Fact]
    public void Redirected_it_writes_a_line_per_tenth_and_every_two_seconds_between()
    {
        var output = new StringWriter { NewLine = "\n" };
        var now = TimeSpan.Zero;
        var progress = new GenerateProgress(output, 10_000, redirected: true, () => now);

        foreach (var produced in new long[] { 500, 999, 1000, 1500 })
            progress.Report(produced);       // 1000 reaches 10%
        now = TimeSpan.FromSeconds(1.9);
        progress.Report(1800);               // same tenth, under 2 s since the last line: nothing
        now = TimeSpan.FromSeconds(2.1);
        progress.Report(1900);               // 2 s since the last line
        progress.Report(3500);               // crosses 20% and 30% at once: one line
        progress.Report(3600);
        now = TimeSpan.FromSeconds(3);
        progress.Report(10_000);
        progress.Finish(10_000);             // already printed: not twice

        Assert.Equal(
            "produced 1,000/10,000 (10%)\nproduced 1,900/10,000 (19%)\nproduced 3,500/10,000 (35%)\nproduced 10,000/10,000 (100%)\n",
            output.ToString());
    }

    [Fact]
    public void On_a_terminal_it_rewrites_one_line_and_ends_it()
    {
        var output = new StringWriter { NewLine = "\n" };
        var progress = new GenerateProgress(output, 2048, redirected: false);

        progress.Report(1024);
        progress.Report(2048);
        progress.Finish(2048);

        Assert.Equal("\rproduced 1,024/2,048 (50%)\rproduced 2,048/2,048 (100%)\n", output.ToString());
    }

    [Fact]
    public async Task The_generate_command_writes_whole_lines_to_a_redirected_stderr()
    {
        var topic = kafka.CreateTopic(partitions: 8);

        var result = await PipelineCli.RunAsync("generate", "--bootstrap-servers", kafka.BootstrapServers, "--topic", topic, "--events", "40000", "--round-robin");

        Assert.Equal(0, result.ExitCode);
        Assert.DoesNotContain('\r', result.Stderr);
        var progress = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("produced ", StringComparison.Ordinal)).ToList();
        Assert.Equal("produced 40,000/40,000 (100%)", progress[^1]);
        // One line at each tenth at least (more only if a tenth took over 2 s), in order, each a count of 40,000.
        var percents = progress.Select(l => int.Parse(l[(l.IndexOf('(') + 1)..l.IndexOf('%')], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(percents.Order(), percents);
        Assert.All(Enumerable.Range(1, 10), tenth => Assert.Contains(percents, p => p / 10 == tenth || (tenth == 10 && p == 100)));
        Assert.All(progress, l => Assert.Matches(@"^produced [\d,]+/40,000 \(\d+%\)$", l));
        Assert.Equal(40_000, PipelineCli.HighWatermarkSum(kafka.BootstrapServers, topic, 8));
    }
}
