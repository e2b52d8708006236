using EventPipeline.DevTools.Events;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.Tests.Infrastructure;
using EventPipeline.Tests.Integration;

namespace EventPipeline.Tests.RoutineOperations;

/// <summary>
/// What an operator gets wrong in a configuration must stop the worker at start with exit code 2 and the key named,
/// before it consumes anything: a table name that points at another table, a table whose types cannot take the
/// events, a setting the server does not know, a librdkafka property that does not exist, values that overflow timers.
/// </summary>
[Collection(KafkaAndClickHouseCollection.Name)]
public sealed class RefusedAtStartTests(KafkaFixture kafka, ClickHouseFixture clickHouse)
{
    [Fact]
    public async Task A_table_with_none_of_the_events_fields_is_refused_naming_the_table()
    {
        var table = $"wrong_{Guid.NewGuid():N}";
        await clickHouse.Server.QueryAsync($"CREATE TABLE {table} (a String, b UInt32) ENGINE = MergeTree ORDER BY a");
        var (topic, group) = await ProduceOneEventAsync();

        var result = await RunAsync(topic, group, $"--ClickHouse:Table={table}");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"ClickHouse:Table 'default.{table}' cannot hold the events", result.Stderr);
        Assert.Contains("none of its inserted columns", result.Stderr);
        Assert.Equal(0, await clickHouse.Server.CountAsync(table));
        Assert.Empty(await CommittedOffsets.ReadAsync(kafka.BootstrapServers, topic, group));
    }

    [Fact]
    public async Task A_column_whose_type_cannot_take_its_field_is_refused_naming_the_column()
    {
        var table = $"country_number_{Guid.NewGuid():N}";
        await clickHouse.Server.QueryAsync($"CREATE TABLE {table} (event_id UUID, event_name String, country UInt8) ENGINE = MergeTree ORDER BY event_id");
        var (topic, group) = await ProduceOneEventAsync();

        var result = await RunAsync(topic, group, $"--ClickHouse:Table={table}");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("column country UInt8 cannot hold the event's Country", result.Stderr);
        Assert.Equal(0, await clickHouse.Server.CountAsync(table));
    }

    [Fact]
    public async Task A_setting_the_server_does_not_know_is_refused_naming_it()
    {
        var table = await clickHouse.CreateEventsTableAsync();
        var (topic, group) = await ProduceOneEventAsync();

        var result = await RunAsync(topic, group, $"--ClickHouse:Table={table}", "--ClickHouse:Settings:insert_quorum_bogus=1");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("ClickHouse:Settings:insert_quorum_bogus", result.Stderr);
        Assert.Equal(0, await clickHouse.Server.CountAsync(table));
    }

    [Fact]
    public async Task A_setting_value_the_server_cannot_take_is_refused_naming_the_settings()
    {
        var table = await clickHouse.CreateEventsTableAsync();
        var (topic, group) = await ProduceOneEventAsync();

        var result = await RunAsync(topic, group, $"--ClickHouse:Table={table}", "--ClickHouse:Settings:max_insert_block_size=lots");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("ClickHouse:Settings:max_insert_block_size=lots is taken by the server as 0", result.Stderr);
    }

    [Theory]
    [InlineData("--Kafka:Properties:fetch.bogus.bytes=1", "Kafka:Properties:fetch.bogus.bytes")]
    [InlineData("--DeadLetter:Properties:linger.bogus=1", "DeadLetter:Properties:linger.bogus")]
    [InlineData("--Pipeline:DrainTimeoutSeconds=2147483647", "Pipeline:DrainTimeoutSeconds")]
    [InlineData("--ClickHouse:RequestTimeoutSeconds=3000000", "ClickHouse:RequestTimeoutSeconds")]
    [InlineData("--ClickHouse:Table=events\u0007", "ClickHouse:Table")]
    [InlineData("--Telemetry:Table=t\u0001", "Telemetry:Table")]
    public async Task Out_of_range_or_unknown_values_exit_with_code_2_naming_the_key(string argument, string key)
    {
        var result = await ExternalProcess.RunAsync(PipelineProcess.DotnetHost,
            [PipelineProcess.PipelineDll, "run", $"--Kafka:BootstrapServers={kafka.BootstrapServers}", "--Kafka:Topic=events",
                $"--ClickHouse:Url={clickHouse.Server.HttpUrl}", "--Metrics:Port=0", argument], timeout: TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(key, result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal); // a message, not a stack trace
    }

    private async Task<(string Topic, string Group)> ProduceOneEventAsync()
    {
        var topic = kafka.CreateTopic(partitions: 1);
        kafka.ProduceAll(topic, [Events.Json(Guid.NewGuid())]);
        await Task.CompletedTask;
        return (topic, $"group-{Guid.NewGuid():N}");
    }

    private Task<ProcessResult> RunAsync(string topic, string group, params string[] extra) =>
        ExternalProcess.RunAsync(PipelineProcess.DotnetHost,
            [PipelineProcess.PipelineDll, "run", .. EndToEnd.WorkerArgs(kafka.BootstrapServers, topic, group, clickHouse.Server.HttpUrl, "events"), .. extra],
            timeout: TimeSpan.FromSeconds(60));
}
