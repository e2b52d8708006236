using System.Text.Json;
using System.Text.RegularExpressions;
using EventPipeline.Host;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.Stages.Codec;
using EventPipeline.Stages.Events;
using EventPipeline.Tests.Infrastructure;
using EventPipeline.Tests.Integration;
using Xunit.Abstractions;
using EventPipeline.DevTools.Events;

namespace EventPipeline.Tests.Operations;

/// <summary>
/// A real Prometheus scrapes a running worker and a running `pipeline produce` pod while events flow: raw JSON
/// through the producer (codec encode) into the worker's topic, JSON straight into it too, 5% malformed on both
/// paths, a few envelopes no worker can read, and ClickHouse stopped for a moment so inserts are retried. The worker
/// decodes the shipped codec model (Codec:Models) and runs the DQN in shadow mode, so that the codec, producer and
/// batch-policy panels have series as in a deployment with the codec and the DQN on (without them those panels are
/// empty by design). Every per-stage series, every dashboard query and every recording rule must return data
/// through Prometheus's HTTP API.
/// </summary>
[Collection(KafkaAndClickHouseCollection.Name)]
public sealed partial class PrometheusScrapeTests(KafkaFixture kafka, ITestOutputHelper output)
{
    private const string WorkerJob = "event-pipeline";
    private const string ProducerJob = "event-pipeline-producer";
    private static readonly string[] StagesWithMessages = ["source", "codec_decode", "decode", "batch", "sink", "dead_letter"];
    private static readonly string[] StagesWithQueues = ["codec_decode", "decode", "batch", "sink", "dead_letter"];
    private static readonly (string Stage, string Outcome)[] ProducerStages =
        [("source", "ok"), ("decode", "ok"), ("codec_encode", "coded"), ("produce", "ok"), ("dead_letter", "ok")];

    [Fact]
    public async Task Prometheus_scrapes_the_worker_and_every_dashboard_and_recording_query_has_data()
    {
        var stateDirectory = Path.Combine(Path.GetTempPath(), $"pipeline-tests-prom-clickhouse-{Guid.NewGuid():N}");
        await using var clickHouse = await LocalClickHouseServer.StartAsync(stateDirectory);
        try
        {
            var table = $"events_{Guid.NewGuid():N}";
            await clickHouse.QueryAsync(EventsTable.CreateStatement(table));
            var topic = kafka.CreateTopic(partitions: 8);
            kafka.Cluster.CreateTopic(topic + ".dlq", 1);
            var raw = kafka.CreateTopic(partitions: 4);
            kafka.Cluster.CreateTopic(raw + ".dlq", 1);

            await using var worker = RunningWorker.Start(kafka.BootstrapServers, topic, clickHouse.HttpUrl, table, output,
                new Dictionary<string, string?>
                {
                    ["Batch:MaxLatencyMs"] = "100",
                    ["Codec:Models"] = TestPipelineProcess.ShippedCodecModel,
                    ["Batch:Policy"] = "dqn-shadow",
                });
            await using var endpoint = await MetricsEndpoint.StartAsync("127.0.0.1", 0, worker.Metrics.Registry,
                worker.Worker.Health, TestLogger.CreateFactory(output), CancellationToken.None);
            var producerPort = OperationsTools.FreePort();
            // The default partitioner (d-choices) has a policy: the partitioning panels' fan-out series exist only for such a strategy.
            using var produce = TestPipelineProcess.StartProduce(kafka.BootstrapServers, raw, topic, producerPort, output);
            var recordingRules = OperationsTools.Deploy("prometheus", "rules", "pipeline-recording.yml");
            await using var prometheus = await PrometheusServer.StartAsync(
                new Dictionary<string, string> { [WorkerJob] = $"127.0.0.1:{endpoint.Port}", [ProducerJob] = $"127.0.0.1:{producerPort}" },
                [recordingRules, OperationsTools.Deploy("prometheus", "rules", "pipeline-alerts.yml")]);

            using var stopProducing = new CancellationTokenSource();
            var producer = Task.Run(() => ProduceSteadily(raw, topic, stopProducing.Token));
            try
            {
                await RunningWorker.WaitUntilAsync(() => Task.FromResult(worker.Worker.Inserted > 2000), TimeSpan.FromSeconds(60),
                    () => $"inserted {worker.Worker.Inserted}");

                // A short ClickHouse outage: the sink retries (pipeline_clickhouse_insert_retries_total gets data).
                await clickHouse.StopAsync();
                await Task.Delay(TimeSpan.FromSeconds(2));
                await clickHouse.StartAgainAsync();
                var before = worker.Worker.Inserted;
                await RunningWorker.WaitUntilAsync(() => Task.FromResult(worker.Worker.Inserted > before + 2000), TimeSpan.FromSeconds(60),
                    () => $"inserted {worker.Worker.Inserted} after the restart");

                // Rates are non-zero while events flow; every stage reports.
                await EventuallyAsync(async () =>
                {
                    foreach (var stage in StagesWithMessages)
                        await AssertPositiveAsync(prometheus, $"sum(rate(pipeline_stage_messages_total{{job=\"{WorkerJob}\", stage=\"{stage}\", outcome=\"ok\"}}[10s]))");
                    foreach (var stage in StagesWithQueues)
                        Assert.NotEmpty(await prometheus.QueryAsync($"pipeline_stage_queue_depth{{job=\"{WorkerJob}\", stage=\"{stage}\"}}"));
                    foreach (var (stage, outcome) in ProducerStages)
                        await AssertPositiveAsync(prometheus, $"sum(rate(pipeline_stage_messages_total{{job=\"{ProducerJob}\", stage=\"{stage}\", outcome=\"{outcome}\"}}[10s]))");
                    await AssertPositiveAsync(prometheus, $"sum(rate(pipeline_stage_messages_total{{job=\"{WorkerJob}\", stage=\"codec_decode\", outcome=\"passed_through\"}}[10s]))");
                    await AssertPositiveAsync(prometheus, $"sum(pipeline_dead_letter_total{{job=\"{WorkerJob}\", reason=~\"codec_.+\"}})");
                    await AssertPositiveAsync(prometheus, $"sum(rate(pipeline_batch_policy_decisions_total{{job=\"{WorkerJob}\", source=\"shadow\"}}[10s]))");
                    await AssertPositiveAsync(prometheus, "sum(rate(pipeline_offset_commits_total{result=\"ok\"}[10s]))");
                    await AssertPositiveAsync(prometheus, "sum(rate(pipeline_clickhouse_rows_total[10s]))");
                    await AssertPositiveAsync(prometheus, "sum(pipeline_clickhouse_insert_retries_total)");
                    await AssertPositiveAsync(prometheus, "sum(pipeline_dead_letter_total)");
                    await AssertPositiveAsync(prometheus, "sum(pipeline_kafka_assigned_partitions)");
                });

                // The alerts on real series: the unreadable envelopes make the codec alert pending, while nothing has
                // said for 15 s that the worker or the producer stalled or that the DQN fell back (at start, before
                // the first insert or envelope, they may have been pending for a moment).
                await EventuallyAsync(async () =>
                {
                    Assert.NotEmpty(await prometheus.QueryAsync("ALERTS{alertname=\"PipelineCodecDeadLetters\", reason=\"codec_unknown_model\"}"));
                    Assert.NotEmpty(await prometheus.QueryAsync("ALERTS{alertname=\"PipelineCodecDeadLetters\", reason=\"codec_corrupt\"}"));
                    var wrong = await prometheus.QueryAsync(
                        "count_over_time(ALERTS{alertname=~\"PipelineNoRowsInserted|PipelineProducerStalled|PipelineBatchPolicyModelFallback\"}[15s])");
                    Assert.True(wrong.Count == 0, string.Join("; ", wrong.Select(w => string.Join(",", w.Labels.Select(l => $"{l.Key}={l.Value}")))));
                });

                var queries = DashboardQueries().Concat(RecordingRuleQueries(recordingRules)).ToList();
                Assert.True(queries.Count > 20, $"only {queries.Count} queries found");
                await EventuallyAsync(async () =>
                {
                    foreach (var query in queries)
                    {
                        var result = await prometheus.QueryAsync(query);
                        Assert.True(result.Count > 0, $"no data for: {query}");
                        output.WriteLine($"{result.Count,3} series, first {result[0].Value,10:G4}: {query}");
                    }
                });
            }
            finally
            {
                await stopProducing.CancelAsync();
                await producer;
                produce.Terminate();
            }
            Assert.Equal(0, await produce.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        }
        finally
        {
            await clickHouse.DisposeAsync();
            Directory.Delete(stateDirectory, recursive: true);
        }
    }

    /// <summary>Every target of every panel and every template variable's query, with Grafana's variables substituted.</summary>
    private static IEnumerable<string> DashboardQueries()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(OperationsTools.Deploy("grafana", "pipeline.json")));
        var root = dashboard.RootElement;
        var queries = new List<string>();
        foreach (var panel in root.GetProperty("panels").EnumerateArray())
        {
            if (panel.TryGetProperty("targets", out var targets))
                queries.AddRange(targets.EnumerateArray().Select(t => t.GetProperty("expr").GetString()!));
        }
        foreach (var variable in root.GetProperty("templating").GetProperty("list").EnumerateArray())
        {
            if (variable.GetProperty("type").GetString() != "query")
                continue;
            // label_values(selector, label) is Grafana's; the equivalent PromQL asks for the same series.
            var match = LabelValues().Match(variable.GetProperty("definition").GetString()!);
            Assert.True(match.Success, $"unexpected variable query {variable}");
            queries.Add($"count by ({match.Groups[2].Value}) ({match.Groups[1].Value})");
        }
        return queries.Select(q => q.Replace("$__rate_interval", "1m").Replace("$job", ".*").Replace("$topic", ".*")).Select(q =>
        {
            Assert.DoesNotContain("$", q);
            return q;
        }).ToList();
    }

    /// <summary>Each recording rule's expression, and the series it records.</summary>
    private static IEnumerable<string> RecordingRuleQueries(string file) =>
        OperationsTools.ParseYamlDocuments(File.ReadAllText(file)).SelectMany(d => d.List("groups")).SelectMany(g => g.List("rules"))
            .SelectMany(r => new[] { r.Text("expr")!, r.Text("record")! });

    private static async Task AssertPositiveAsync(PrometheusServer prometheus, string query)
    {
        var result = await prometheus.QueryAsync(query);
        Assert.True(result.Count == 1 && result[0].Value > 0, $"{query} = {(result.Count == 0 ? "no data" : result[0].Value)}");
    }

    /// <summary>Prometheus sees what the worker did a scrape (and a rule evaluation) later: retry for up to 30 s.</summary>
    private static async Task EventuallyAsync(Func<Task> assertions)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                await assertions();
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(1000);
            }
        }
    }

    /// <summary>
    /// Every 100 ms: 150 raw events for the producer pod, 50 JSON events straight to the worker (the codec passes
    /// them through) and two envelopes the worker cannot read (a model it does not load, and one cut off).
    /// </summary>
    private void ProduceSteadily(string raw, string topic, CancellationToken stop)
    {
        var generator = new EventGenerator(new EventGeneratorOptions { Seed = 21, MalformedFraction = 0.05 });
        byte versionAndMode = CodecEnvelope.FormatVersion << 4;
        byte[][] unreadable = [[CodecEnvelope.Magic, versionAndMode, 99, 0, 0, 0], [CodecEnvelope.Magic, versionAndMode]];
        while (!stop.IsCancellationRequested)
        {
            kafka.ProduceAll(raw, Enumerable.Range(0, 150).Select(_ => generator.Next().Payload));
            kafka.ProduceAll(topic, Enumerable.Range(0, 50).Select(_ => generator.Next().Payload).Concat(unreadable));
            stop.WaitHandle.WaitOne(100);
        }
    }

    [GeneratedRegex(@"^label_values\((.+),\s*(\w+)\)$")]
    private static partial Regex LabelValues();
}
