using System.Net;
using EventPipeline.Host;
using EventPipeline.Stages.Events;
using EventPipeline.Tests.Infrastructure;
using Xunit.Abstractions;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Tests.Integration;

[Collection(KafkaAndClickHouseCollection.Name)]
public sealed class MetricsEndpointTests(KafkaFixture kafka, ClickHouseFixture clickHouse, ITestOutputHelper output)
{
    [Fact]
    public async Task Metrics_health_and_readiness_are_served_and_every_stage_reports()
    {
        var topic = kafka.CreateTopic(partitions: 4);
        kafka.Cluster.CreateTopic(topic + ".dlq", 1);
        var table = await clickHouse.CreateEventsTableAsync();
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = 3, MalformedFraction = 0.05 });
        kafka.ProduceAll(topic, Enumerable.Range(0, 5000).Select(_ => generator.Next().Payload));

        await using var worker = RunningWorker.Start(kafka.BootstrapServers, topic, clickHouse.Server.HttpUrl, table, output);
        await using var endpoint = await MetricsEndpoint.StartAsync("127.0.0.1", 0, worker.Metrics.Registry,
            worker.Worker.Health, TestLogger.CreateFactory(output), CancellationToken.None);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{endpoint.Port}") };

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
        await RunningWorker.WaitUntilAsync(async () => (await http.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(30), () => "never ready");
        await RunningWorker.WaitUntilAsync(() => Task.FromResult(worker.Worker.Inserted + worker.Worker.DeadLettered >= 5000),
            TimeSpan.FromSeconds(60), () => $"inserted {worker.Worker.Inserted}");
        // Offsets are committed on an interval after the inserts: wait until a commit and the lag are exported.
        var text = "";
        await RunningWorker.WaitUntilAsync(async () =>
            {
                text = await http.GetStringAsync("/metrics");
                return text.Contains("pipeline_offset_commits_total{result=\"ok\"}", StringComparison.Ordinal)
                       && text.Contains("pipeline_kafka_consumer_lag{", StringComparison.Ordinal);
            },
            TimeSpan.FromSeconds(30), () => "no offset commit or consumer lag exported");
        foreach (var stage in new[] { "source", "decode", "batch", "sink", "dead_letter" })
            Assert.Contains($"pipeline_stage_messages_total{{stage=\"{stage}\",outcome=\"ok\"}}", text);
        foreach (var stage in new[] { "decode", "batch", "sink", "dead_letter" })
            Assert.Contains($"pipeline_stage_queue_depth{{stage=\"{stage}\"}}", text);
        foreach (var name in new[]
                 {
                     "pipeline_stage_duration_seconds_bucket", "pipeline_kafka_consumer_lag{", "pipeline_batch_size_count",
                     "pipeline_clickhouse_insert_duration_seconds_bucket", "pipeline_clickhouse_rows_total", "pipeline_dead_letter_total{reason=",
                     "pipeline_end_to_end_latency_seconds_bucket", "pipeline_offset_commits_total{result=\"ok\"}",
                 })
            Assert.Contains(name, text);
        var rows = text.Split('\n').Single(l => l.StartsWith("pipeline_clickhouse_rows_total ", StringComparison.Ordinal));
        Assert.Equal(await clickHouse.Server.CountAsync(table), (long)double.Parse(rows.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture));
    }
}
