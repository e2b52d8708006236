using EventPipeline.DevTools.LocalServers;
using System.Globalization;
using EventPipeline.Tests.Infrastructure;
using Xunit.Abstractions;

namespace EventPipeline.Tests.Integration;

/// <summary>One telemetry row per finished insert, written beside the data by the worker itself.</summary>
[Collection(KafkaAndClickHouseCollection.Name)]
public sealed class TelemetryTests(KafkaFixture kafka, ClickHouseFixture clickHouse, ITestOutputHelper output)
{
    [Fact]
    public async Task Every_insert_leaves_one_telemetry_row_with_its_row_count()
    {
        var topic = kafka.CreateTopic(partitions: 4);
        var table = await clickHouse.CreateEventsTableAsync();
        var telemetry = await DeployedTables.CreateAsync(clickHouse.Server, "telemetry.sql", "pipeline_telemetry");
        kafka.ProduceAll(topic, EndToEnd.Generate(12_000, seed: 12).Select(m => m.Payload));

        await using var worker = RunningWorker.Start(kafka.BootstrapServers, topic, clickHouse.Server.HttpUrl, table, output,
            new Dictionary<string, string?> { ["Batch:Size"] = "1000", ["Telemetry:Table"] = telemetry, ["Telemetry:Worker"] = "test-worker" });
        await RunningWorker.WaitUntilAsync(async () => await clickHouse.Server.CountAsync(table) >= 12_000, TimeSpan.FromSeconds(60),
            () => $"inserted {worker.Worker.Inserted}");
        await worker.StopAsync(); // flushes the telemetry queue

        var inserts = (long)worker.Metrics.InsertDuration.WithLabels("ok").Count;
        var line = (await clickHouse.Server.QueryAsync(
            $"SELECT count(), sum(rows), min(succeeded), any(worker), any(policy) FROM {telemetry} FORMAT TabSeparated")).Trim().Split('\t');
        Assert.Equal(inserts, long.Parse(line[0], CultureInfo.InvariantCulture));
        Assert.Equal(12_000, long.Parse(line[1], CultureInfo.InvariantCulture));
        Assert.Equal("1", line[2]);
        Assert.Equal("test-worker", line[3]);
        Assert.Equal("static", line[4]);
        Assert.Equal(0, worker.Metrics.TelemetryDropped.Value);
    }
}
