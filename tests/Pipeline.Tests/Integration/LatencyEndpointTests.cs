using System.Net.Http.Json;
using EventPipeline.Stages;
using EventPipeline.Tests.Infrastructure;
using EventPipeline.Tests.Operations;
using Xunit.Abstractions;

namespace EventPipeline.Tests.Integration;

/// <summary>
/// GET /latency of the worker as production runs it (its own process): the HDR histogram holds one latency per row
/// inserted, an interval snapshot holds only the rows since the previous one, and a reset empties both.
/// </summary>
[Collection(KafkaAndClickHouseCollection.Name)]
public sealed class LatencyEndpointTests(KafkaFixture kafka, ClickHouseFixture clickHouse, ITestOutputHelper output)
{
    private const int EventCount = 5_000;

    [Fact]
    public async Task Latency_counts_every_inserted_row_and_an_interval_only_the_rows_since_the_previous_one()
    {
        var topic = kafka.CreateTopic(partitions: 4);
        var table = await clickHouse.CreateEventsTableAsync();
        var port = OperationsTools.FreePort();
        using var worker = TestPipelineProcess.Start(
            EndToEnd.WorkerArgs(kafka.BootstrapServers, topic, $"group-{Guid.NewGuid():N}", clickHouse.Server.HttpUrl, table,
                ("Metrics:Host", "127.0.0.1"), ("Metrics:Port", port)),
            output);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
        await EndToEnd.WaitUntilAsync(async () =>
        {
            try
            {
                return (await http.GetAsync("/readyz")).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false; // not listening yet
            }
        }, TimeSpan.FromMinutes(1), "/readyz answering 200");
        var beforeProducing = await http.GetFromJsonAsync<EndToEndLatencySnapshot>("/latency?interval=true");

        kafka.ProduceAll(topic, EndToEnd.Generate(EventCount, seed: 61).Select(m => m.Payload));
        await EndToEnd.WaitUntilAsync(async () => await clickHouse.Server.CountAsync(table) >= EventCount, TimeSpan.FromSeconds(60),
            $"{EventCount} rows in {table}");
        var rows = await clickHouse.Server.CountAsync(table);
        var cumulative = await http.GetFromJsonAsync<EndToEndLatencySnapshot>("/latency");
        var interval = await http.GetFromJsonAsync<EndToEndLatencySnapshot>("/latency?interval=true");
        var nextInterval = await http.GetFromJsonAsync<EndToEndLatencySnapshot>("/latency?interval=true");
        output.WriteLine($"cumulative: {cumulative}");

        Assert.Equal(0, beforeProducing!.Count);
        Assert.Equal(EventCount, rows);
        Assert.Equal(rows, cumulative!.Count);
        Assert.False(cumulative.Interval);
        Assert.Equal(rows, interval!.Count);
        Assert.True(interval.Interval);
        Assert.Equal(0, nextInterval!.Count);
        Assert.True(cumulative.MinMs <= cumulative.P50Ms && cumulative.P50Ms <= cumulative.P99Ms && cumulative.P99Ms <= cumulative.MaxMs,
            $"percentiles out of order: {cumulative}");
        // Produced after the worker was ready and inserted within the wait above: no row can be older than that.
        Assert.InRange(cumulative.MaxMs!.Value, 0, 60_000);

        // A benchmark's warm-up is forgotten by POST /latency/reset: both views start again.
        using var reset = await http.PostAsync("/latency/reset", content: null);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, reset.StatusCode);
        Assert.Equal(0, (await http.GetFromJsonAsync<EndToEndLatencySnapshot>("/latency"))!.Count);
    }
}
