using System.Diagnostics;
using System.Globalization;
using EventPipeline.Tests.Infrastructure;
using EventPipeline.Tests.Integration;
using Xunit.Abstractions;

namespace EventPipeline.Tests.RoutineOperations;

/// <summary>
/// A frozen server (a long GC pause, a stuck disk, SIGSTOP here) accepts requests and answers none. Each insert times
/// out; a frozen server runs every request it accepted once it thaws, so resending at each timeout would store a
/// batch once per timeout. The sink waits until the timed-out insert is no longer running before it resends.
/// </summary>
[Collection(KafkaAndClickHouseCollection.Name)]
public sealed class FrozenClickHouseTests(KafkaFixture kafka, ClickHouseFixture clickHouse, ITestOutputHelper output)
{
    [Fact]
    public async Task Inserts_that_time_out_against_a_frozen_server_are_stored_at_most_twice()
    {
        const int count = 4000;
        var topic = kafka.CreateTopic(partitions: 4);
        var table = await clickHouse.CreateEventsTableAsync();
        var ids = Enumerable.Range(0, count).Select(_ => Guid.NewGuid()).ToArray();
        await using var worker = RunningWorker.Start(kafka.BootstrapServers, topic, clickHouse.Server.HttpUrl, table, output,
            new Dictionary<string, string?> { ["ClickHouse:RequestTimeoutSeconds"] = "1", ["Batch:Size"] = "500" });
        kafka.ProduceAll(topic, [Events.Json(ids[0])]);
        await EndToEnd.WaitUntilAsync(async () => await clickHouse.Server.CountAsync(table) == 1, TimeSpan.FromSeconds(60), "the first row");

        var pid = ServerPid();
        Signal("STOP", pid);
        try
        {
            kafka.ProduceAll(topic, ids[1..].Select(id => Events.Json(id)));
            // The point of the test is time passing while frozen: many request timeouts' worth.
            await Task.Delay(TimeSpan.FromSeconds(8));
        }
        finally
        {
            Signal("CONT", pid);
        }

        await EndToEnd.WaitUntilAsync(async () => await DistinctAsync(table) == count, TimeSpan.FromSeconds(90), $"{count} distinct events");
        await worker.StopAsync();
        var copies = (await clickHouse.Server.QueryAsync($"SELECT max(c) FROM (SELECT count() AS c FROM {table} GROUP BY event_id) FORMAT TabSeparated")).Trim();
        output.WriteLine($"rows {await clickHouse.Server.CountAsync(table)}, most copies of one event {copies}");
        Assert.InRange(int.Parse(copies, CultureInfo.InvariantCulture), 1, 2);
    }

    private async Task<long> DistinctAsync(string table) =>
        long.Parse((await clickHouse.Server.QueryAsync($"SELECT uniqExact(event_id) FROM {table} FORMAT TabSeparated")).Trim(), CultureInfo.InvariantCulture);

    private int ServerPid()
    {
        var found = Process.Start(new ProcessStartInfo("pgrep", ["-f", clickHouse.Server.StateDirectory]) { RedirectStandardOutput = true })!;
        var pids = found.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
        found.WaitForExit();
        return Assert.Single(pids);
    }

    private static void Signal(string signal, int pid) => Process.Start("kill", [$"-{signal}", pid.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
}
