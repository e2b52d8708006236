using System.Text;
using EventPipeline.Tests.Infrastructure;

namespace EventPipeline.Tests.OperatorTools;

/// <summary>
/// <c>pipeline dlq replay</c> puts each matching dead letter's original key, value and headers, byte for byte, back into
/// its source topic (or --to-topic), with pipeline.replayed.from=&lt;dlq partition@offset&gt; added and the dead-letter
/// stage's pipeline.* headers gone.
/// </summary>
[Collection(KafkaCollection.Name)]
public sealed class DlqReplayTests(KafkaFixture kafka)
{
    [Fact]
    public async Task Replays_the_original_bytes_and_headers_to_the_source_topic()
    {
        var source = kafka.CreateTopic(partitions: 3);
        var dlq = source + ".dlq";
        kafka.Cluster.CreateTopic(dlq, 2);
        byte[] binary = [0x00, 0x0A, 0xFF, 0x7B, 0x0D];
        kafka.ProduceAll(dlq,
        [
            PipelineCli.DeadLetter("malformed", "decode", source, 1, 5, binary, key: Encoding.UTF8.GetBytes("app-1"), timestamp: null,
                ("traceparent", Encoding.UTF8.GetBytes("00-abc-01")), ("bin", [0x00, 0x01, 0x02])),
            PipelineCli.DeadLetter("oversize", "decode", source, 0, 6, new byte[2000]),
            PipelineCli.DeadLetter("malformed", "decode", source, 2, 7, Encoding.UTF8.GetBytes("{}"), key: Encoding.UTF8.GetBytes("app-2"), timestamp: null,
                ("pipeline.replayed.from", Encoding.UTF8.GetBytes("1@3"))),
            PipelineCli.DeadLetter("column_value", "encode", source, 2, 8, Encoding.UTF8.GetBytes("{\"country\":\"XX\"}")),
        ]);
        var letters = (await kafka.ReadAllAsync(dlq, TimeSpan.FromSeconds(30))).ToDictionary(l => Convert.ToHexString(l.Message.Value), l => $"{l.Partition.Value}@{l.Offset.Value}");

        var result = await PipelineCli.RunAsync("dlq", "replay", "--bootstrap-servers", kafka.BootstrapServers, "--topic", source, "--kind", "malformed,oversize");

        Assert.Equal(0, result.ExitCode);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("matched=3 read=4 replayed=3 failed=0 unroutable=0", lines[3]);
        Assert.Equal(["kind=malformed count=2", "kind=oversize count=1"], lines[4..]);
        Assert.Single(lines, l => l.Contains($"source={source}/2@7 size=2 replays=1 -> {source} ", StringComparison.Ordinal));
        var replayed = (await kafka.ReadAllAsync(source, TimeSpan.FromSeconds(30))).ToDictionary(r => Convert.ToHexString(r.Message.Value));
        Assert.Equal(3, replayed.Count);
        static List<(string, string)> Headers(Confluent.Kafka.Message<byte[]?, byte[]> m) =>
            [.. m.Headers.Select(h => (h.Key, Convert.ToHexString(h.GetValueBytes())))];
        static string Hex(string text) => Convert.ToHexString(Encoding.UTF8.GetBytes(text));

        var first = replayed[Convert.ToHexString(binary)].Message;
        Assert.Equal("app-1", Encoding.UTF8.GetString(first.Key!));
        Assert.Equal([("traceparent", Hex("00-abc-01")), ("bin", "000102"), ("pipeline.replayed.from", Hex(letters[Convert.ToHexString(binary)]))], Headers(first));

        var oversize = replayed[Convert.ToHexString(new byte[2000])].Message;
        Assert.Null(oversize.Key);
        Assert.Equal([("pipeline.replayed.from", Hex(letters[Convert.ToHexString(new byte[2000])]))], Headers(oversize));

        // A message replayed before keeps that mark and gets a second one: a loop shows up as a growing list.
        var again = replayed[Hex("{}")].Message;
        Assert.Equal("app-2", Encoding.UTF8.GetString(again.Key!));
        Assert.Equal([("pipeline.replayed.from", Hex("1@3")), ("pipeline.replayed.from", Hex(letters[Hex("{}")]))], Headers(again));
    }

    [Fact]
    public async Task To_topic_sends_them_elsewhere_and_the_source_topic_stays_untouched()
    {
        var source = kafka.CreateTopic(partitions: 2);
        var elsewhere = kafka.CreateTopic(partitions: 1);
        kafka.Cluster.CreateTopic(source + ".dlq", 1);
        kafka.ProduceAll(source + ".dlq",
        [
            PipelineCli.DeadLetter("column_value", "encode", source, 0, 1, Encoding.UTF8.GetBytes("a")),
            PipelineCli.DeadLetter("column_value", "encode", source, 1, 2, Encoding.UTF8.GetBytes("b")),
            PipelineCli.DeadLetter("malformed", "decode", source, 1, 3, Encoding.UTF8.GetBytes("c")),
        ]);

        var result = await PipelineCli.RunAsync("dlq", "replay", "--bootstrap-servers", kafka.BootstrapServers, "--topic", source,
            "--stage", "encode", "--to-topic", elsewhere);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("matched=2 read=3 replayed=2 failed=0 unroutable=0\n", result.Stdout, StringComparison.Ordinal);
        var moved = await kafka.ReadAllAsync(elsewhere, TimeSpan.FromSeconds(30));
        Assert.Equal(["a", "b"], moved.Select(m => Encoding.UTF8.GetString(m.Message.Value)).Order(StringComparer.Ordinal));
        Assert.Equal(0, PipelineCli.HighWatermarkSum(kafka.BootstrapServers, source, 2));
    }
}
