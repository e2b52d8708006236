using EventPipeline.DevTools.Events;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.Tests.Infrastructure;
using EventPipeline.Tests.Integration;
using Xunit.Abstractions;

namespace EventPipeline.Tests.RoutineOperations;

/// <summary>
/// An error no retry can fix (here: the table was dropped under the worker) must stop the worker, with the reason in
/// its log, within the drain timeout, so that the orchestrator restarts it and someone looks; the events it could not
/// insert stay uncommitted and are inserted by the next worker once the table is back.
/// </summary>
[Collection(KafkaAndClickHouseCollection.Name)]
public sealed class PermanentInsertErrorTests(KafkaFixture kafka, ClickHouseFixture clickHouse, ITestOutputHelper output)
{
    [Fact]
    public async Task A_dropped_table_stops_the_worker_with_the_reason_and_leaves_the_rest_uncommitted()
    {
        var topic = kafka.CreateTopic(partitions: 1);
        var table = await clickHouse.CreateEventsTableAsync();
        var group = $"group-{Guid.NewGuid():N}";
        var first = Guid.NewGuid();
        var later = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid()).ToArray();
        var args = EndToEnd.WorkerArgs(kafka.BootstrapServers, topic, group, clickHouse.Server.HttpUrl, table,
            ("Batch:Size", 1), ("Batch:MaxLatencyMs", 50), ("Pipeline:DrainTimeoutSeconds", 5));

        using (var worker = TestPipelineProcess.Start(args, output))
        {
            kafka.ProduceAll(topic, [Events.Json(first)]);
            await EndToEnd.WaitUntilAsync(async () => await clickHouse.Server.CountAsync(table) == 1, TimeSpan.FromSeconds(60), "the first row");
            await clickHouse.Server.QueryAsync($"DROP TABLE {table}");
            kafka.ProduceAll(topic, later.Select(id => Events.Json(id)));

            Assert.Equal(1, await worker.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("no retry can fix (code 60)", worker.Stderr);
            Assert.Contains("Stage sink failed", worker.Stderr);
        }

        await clickHouse.CreateEventsTableAsync(table);
        using (var worker = TestPipelineProcess.Start(args, output))
        {
            await EndToEnd.WaitUntilAsync(async () => await clickHouse.Server.CountAsync(table) == later.Length, TimeSpan.FromSeconds(60), "the later rows");
            worker.Terminate();
            Assert.Equal(0, await worker.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
        var ids = (await clickHouse.Server.QueryAsync($"SELECT toString(event_id) FROM {table} FORMAT TabSeparated"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Guid.Parse).Order();
        Assert.Equal(later.Order(), ids);
    }
}
