using EventPipeline.Tests.Infrastructure;
using EventPipeline.Tests.Integration;
using Xunit.Abstractions;

namespace EventPipeline.Tests.RoutineOperations;

/// <summary>
/// An operator changes a column's type while the worker runs. RowBinary carries no types, so rows encoded for the old
/// type would be read under the new one without an error (a Float64 4.99 read as Decimal(18, 4) is
/// 461730425896253.2598): the worker must notice the change before it inserts, plan the new columns and go on.
/// </summary>
[Collection(KafkaAndClickHouseCollection.Name)]
public sealed class TableAlteredWhileRunningTests(KafkaFixture kafka, ClickHouseFixture clickHouse, ITestOutputHelper output)
{
    [Fact]
    public async Task Rows_after_an_ALTER_of_a_column_type_are_written_for_the_new_type_and_none_is_lost()
    {
        var topic = kafka.CreateTopic(partitions: 2);
        kafka.Cluster.CreateTopic(topic + ".dlq", 1);
        var table = await clickHouse.CreateEventsTableAsync();
        var ids = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid()).ToArray();
        await using var worker = RunningWorker.Start(kafka.BootstrapServers, topic, clickHouse.Server.HttpUrl, table, output,
            new Dictionary<string, string?> { ["Batch:Size"] = "1", ["Batch:MaxLatencyMs"] = "50" });

        kafka.ProduceAll(topic, [Events.Json(ids[0])]);
        await WaitForRowsAsync(table, 1);

        await clickHouse.Server.QueryAsync($"ALTER TABLE {table} MODIFY COLUMN revenue Nullable(Decimal(18, 4))");
        kafka.ProduceAll(topic, [Events.Json(ids[1])]);
        await WaitForRowsAsync(table, 2);

        await clickHouse.Server.QueryAsync($"ALTER TABLE {table} MODIFY COLUMN country String");
        kafka.ProduceAll(topic, [Events.Json(ids[2], revenue: 12.5, country: "DE")]);
        await WaitForRowsAsync(table, 3);
        await worker.StopAsync();

        var rows = await clickHouse.Server.QueryAsync(
            $"SELECT toString(event_id), toString(revenue), country FROM {table} FORMAT TabSeparated");
        // The first row was written as Float64 and converted by the ALTER; the others were written as Decimal.
        Assert.Equal(new[] { $"{ids[0]}\t4.9900\tUS", $"{ids[1]}\t4.9900\tUS", $"{ids[2]}\t12.5000\tDE" }.Order(StringComparer.Ordinal),
            rows.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        Assert.Equal(2, worker.Worker.Replans);
        Assert.Equal(0, worker.Worker.DeadLettered);
        Assert.Equal(2, worker.Metrics.SchemaChanges.WithLabels("before_insert").Value + worker.Metrics.SchemaChanges.WithLabels("during_insert").Value);
        Assert.True(worker.Worker.IsHealthy);
    }

    [Fact]
    public async Task A_dropped_column_is_no_longer_inserted_and_an_added_one_is_filled_from_the_next_events()
    {
        var topic = kafka.CreateTopic(partitions: 1);
        var table = await clickHouse.CreateEventsTableAsync();
        var ids = Enumerable.Range(0, 2).Select(_ => Guid.NewGuid()).ToArray();
        await using var worker = RunningWorker.Start(kafka.BootstrapServers, topic, clickHouse.Server.HttpUrl, table, output,
            new Dictionary<string, string?> { ["Batch:Size"] = "1", ["Batch:MaxLatencyMs"] = "50" });

        kafka.ProduceAll(topic, [Events.Json(ids[0])]);
        await WaitForRowsAsync(table, 1);
        // A property column (the events carry properties.level = 3) and one column fewer.
        await clickHouse.Server.QueryAsync($"ALTER TABLE {table} DROP COLUMN device_id, ADD COLUMN level UInt32");
        kafka.ProduceAll(topic, [Events.Json(ids[1])]);
        await WaitForRowsAsync(table, 2);
        await worker.StopAsync();

        Assert.Equal($"{ids[0]}\t0\n{ids[1]}\t3\n",
            await clickHouse.Server.QueryAsync($"SELECT toString(event_id), level FROM {table} ORDER BY level FORMAT TabSeparated"));
        Assert.Equal(1, worker.Worker.Replans);
        Assert.Equal(0, worker.Worker.DeadLettered);
    }

    private Task WaitForRowsAsync(string table, long rows) =>
        EndToEnd.WaitUntilAsync(async () => await clickHouse.Server.CountAsync(table) >= rows, TimeSpan.FromSeconds(60), $"{rows} rows in {table}");
}
