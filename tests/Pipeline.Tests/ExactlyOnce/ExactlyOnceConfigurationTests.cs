using EventPipeline.DevTools.LocalServers;
using EventPipeline.Tests.Infrastructure;
using EventPipeline.Tests.Integration;
using Xunit.Abstractions;

namespace EventPipeline.Tests.ExactlyOnce;

/// <summary>Asking for exactly-once where the table cannot give it fails at start, with the reason.</summary>
[Collection(ExactlyOnceCollection.Name)]
public sealed class ExactlyOnceConfigurationTests(KafkaFixture kafka, ReplicatedClickHouseFixture clickHouse, ITestOutputHelper output)
{
    [Fact]
    public async Task A_plain_MergeTree_table_is_refused()
    {
        var topic = kafka.CreateTopic(2);
        var table = $"plain_{Guid.NewGuid():N}";
        await clickHouse.Server.QueryAsync(EventPipeline.Host.EventsTable.CreateStatement(table));
        var result = await RunAsync(topic, table);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Delivery:Guarantee=ExactlyOnce", result.Stderr);
        Assert.Contains("MergeTree", result.Stderr);
    }

    [Fact]
    public async Task A_table_without_kafka_partition_and_offset_columns_is_refused()
    {
        var topic = kafka.CreateTopic(2);
        kafka.Cluster.CreateTopic($"{topic}.batches", 2);
        var table = $"narrow_{Guid.NewGuid():N}";
        await clickHouse.Server.QueryAsync(
            $"CREATE TABLE {table} (event_id UUID, app_id String) ENGINE = {ReplicatedClickHouseFixture.ReplicatedEngine(table)} ORDER BY event_id");
        var result = await RunAsync(topic, table);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("kafka_partition and kafka_offset", result.Stderr);
    }

    [Fact]
    public async Task A_ledger_topic_with_too_few_partitions_is_refused()
    {
        var topic = kafka.CreateTopic(4);
        kafka.Cluster.CreateTopic($"{topic}.batches", 2);
        var table = await clickHouse.CreateReplicatedEventsTableAsync();
        var result = await RunAsync(topic, table);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Delivery:LedgerTopic", result.Stderr);
    }

    private async Task<ProcessResult> RunAsync(string topic, string table)
    {
        var args = EndToEnd.WorkerArgs(kafka.BootstrapServers, topic, $"group-{Guid.NewGuid():N}", clickHouse.Server.HttpUrl, table,
            ("Delivery:Guarantee", "ExactlyOnce"));
        var result = await ExternalProcess.RunAsync(PipelineProcess.DotnetHost, [PipelineProcess.PipelineDll, "run", .. args], timeout: TimeSpan.FromSeconds(60));
        output.WriteLine(result.Stderr);
        return result;
    }
}
