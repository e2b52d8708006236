using System.Globalization;
using System.Net;
using EventPipeline.Tests.Infrastructure;
using EventPipeline.Tests.Operations;
using Xunit.Abstractions;

namespace EventPipeline.Tests.Integration;

/// <summary>
/// `pipeline produce --from-topic` as its pod runs it (a child process with the shipped model): /healthz, /readyz and
/// /metrics on Metrics:Port, with the series of every stage it runs, and a clean exit on SIGTERM.
/// </summary>
[Collection(KafkaCollection.Name)]
public sealed class ProduceMetricsTests(KafkaFixture kafka, ITestOutputHelper output)
{
    [Fact]
    public async Task Produce_from_a_topic_serves_health_readiness_and_the_metrics_of_its_stages()
    {
        const int count = 2_000;
        var source = kafka.CreateTopic(partitions: 4);
        kafka.Cluster.CreateTopic(source + ".dlq", 1);
        var target = kafka.CreateTopic(partitions: 4);
        var messages = EndToEnd.Generate(count, seed: 52, malformedFraction: 0.02);
        var good = messages.Count(m => !m.IsMalformed);
        kafka.ProduceAll(source, messages.Select(m => m.Payload));
        var port = OperationsTools.FreePort();

        using var produce = TestPipelineProcess.StartProduce(kafka.BootstrapServers, source, target, port, output);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };

        await EndToEnd.WaitUntilAsync(async () => await StatusAsync(http, "/readyz") == HttpStatusCode.OK, TimeSpan.FromMinutes(1), "/readyz answering 200");
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(http, "/healthz"));
        var text = "";
        await EndToEnd.WaitUntilAsync(async () =>
        {
            text = await http.GetStringAsync("/metrics");
            return Sample(text, "pipeline_stage_messages_total{stage=\"produce\",outcome=\"ok\"}") == good
                && Sum(text, "pipeline_dead_letter_total{") == count - good
                && text.Contains("pipeline_kafka_consumer_lag{topic=\"" + source, StringComparison.Ordinal); // sampled once per commit interval
        }, TimeSpan.FromMinutes(2), "every good event acknowledged by the target topic, every malformed one dead-lettered, the lag sampled");

        Assert.Equal(count, Sample(text, "pipeline_stage_messages_total{stage=\"source\",outcome=\"ok\"}"));
        var coded = Sample(text, "pipeline_stage_messages_total{stage=\"codec_encode\",outcome=\"coded\"}");
        Assert.Equal(good, coded + Sample(text, "pipeline_stage_messages_total{stage=\"codec_encode\",outcome=\"uncoded\"}"));
        Assert.True(coded >= good * 0.99, $"only {coded} of {good} coded");
        Assert.Equal(0, Sample(text, "pipeline_stage_messages_total{stage=\"produce\",outcome=\"failed\"}"));
        var bytesIn = Sample(text, "pipeline_codec_bytes_total{stage=\"codec_encode\",direction=\"in\"}");
        var bytesOut = Sample(text, "pipeline_codec_bytes_total{stage=\"codec_encode\",direction=\"out\"}");
        Assert.True(bytesOut > 0 && bytesOut < bytesIn / 2, $"{bytesOut} bytes out for {bytesIn} in");
        Assert.True(Sample(text, "pipeline_codec_batch_size_count{stage=\"codec_encode\"}") > 0);
        Assert.True(Sample(text, "pipeline_stage_duration_seconds_count{stage=\"codec_encode\"}") > 0);
        foreach (var stage in new[] { "decode", "codec_encode", "produce", "dead_letter" })
            Assert.Contains($"pipeline_stage_queue_depth{{stage=\"{stage}\"}}", text);
        foreach (var name in new[] { "pipeline_offset_commits_total{result=\"ok\"}", "process_start_time_seconds " })
            Assert.Contains(name, text);
        // Nothing of the worker's inserts: a rows counter at zero beside source lag would read as a stalled worker.
        foreach (var name in new[] { "pipeline_clickhouse_", "pipeline_batch_", "pipeline_end_to_end_latency_seconds", "pipeline_telemetry_" })
            Assert.DoesNotContain("\n" + name, text);
        // The default partitioner (d-choices) counts what it placed on each of the target's 4 partitions.
        Assert.Equal(good, Sum(text, "pipeline_producer_partition_messages_total{topic=\"" + target));
        Assert.Contains($"pipeline_producer_partitioner_info{{topic=\"{target}\",strategy=\"d-choices\",mode=\"active\"}} 1", text);
        Assert.InRange(Sample(text, $"pipeline_producer_partition_load_gini{{topic=\"{target}\"}}"), 0, 1);
        output.WriteLine(text.Split('\n').Single(l => l.StartsWith("process_working_set_bytes ", StringComparison.Ordinal))); // for sizing the pod

        produce.Terminate();
        Assert.Equal(0, await produce.WaitForExitAsync(TimeSpan.FromMinutes(1)));
    }

    private static async Task<HttpStatusCode?> StatusAsync(HttpClient http, string path)
    {
        try
        {
            using var response = await http.GetAsync(path);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null; // not listening yet
        }
    }

    /// <summary>The value of one series in Prometheus's text format, named with its labels as prometheus-net prints them.</summary>
    private static double Sample(string text, string series)
    {
        var line = text.Split('\n').SingleOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? double.NaN : double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }

    private static double Sum(string text, string prefix) =>
        text.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
}
