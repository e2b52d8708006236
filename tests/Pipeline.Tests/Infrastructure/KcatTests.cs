using System.Text;
using Xunit;

namespace EventPipeline.Tests.Infrastructure;

[Collection(KafkaCollection.Name)]
public sealed class KcatTests(KafkaFixture kafka)
{
    [Fact]
    public async Task Metadata_lists_the_created_topic_with_its_partitions()
    {
        var topic = kafka.CreateTopic(partitions: 8);

        var result = await Kcat.RunAsync(["-L", "-b", kafka.BootstrapServers, "-t", topic]);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains($"topic \"{topic}\" with 8 partitions", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("3 brokers", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lines_produced_by_kcat_come_back_once_each()
    {
        const int count = 2000;
        var topic = kafka.CreateTopic(partitions: 4);
        var sent = Enumerable.Range(0, count).Select(i => $"kcat-{i}").ToList();

        var produce = await Kcat.RunAsync(
            ["-P", "-b", kafka.BootstrapServers, "-t", topic, "-X", "acks=all"], stdin: string.Join('\n', sent) + "\n");
        var positions = await Kcat.RunAsync(
            ["-C", "-b", kafka.BootstrapServers, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%p:%o\n"]);
        var read = await kafka.ReadAllAsync(topic, TimeSpan.FromSeconds(60));

        Assert.Equal(0, produce.ExitCode);
        Assert.Equal(0, positions.ExitCode);
        var byPartition = positions.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(':'))
            .GroupBy(parts => int.Parse(parts[0]), parts => long.Parse(parts[1]));
        Assert.Equal(count, byPartition.Sum(partition => partition.Count()));
        foreach (var partition in byPartition)
        {
            Assert.Equal(Enumerable.Range(0, partition.Count()).Select(i => (long)i), partition.Order());
        }

        Assert.Equal(sent.Order(), read.Select(r => Encoding.UTF8.GetString(r.Message.Value)).Order());
    }
}
