using EventPipeline.DevTools.LocalServers;
using EventPipeline.Tests.Infrastructure;

namespace EventPipeline.Tests.Integration;

/// <summary>
/// A misconfigured worker must stop at once with a message naming the key, not retry forever: the process is
/// started as production starts it and its exit code and stderr are checked.
/// </summary>
[Collection(KafkaAndClickHouseCollection.Name)]
public sealed class InvalidConfigurationTests(KafkaFixture kafka, ClickHouseFixture clickHouse)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_missing_topic_exits_with_code_2_naming_Kafka_Topic()
    {
        var result = await RunAsync(
            $"--Kafka:BootstrapServers={kafka.BootstrapServers}", $"--ClickHouse:Url={clickHouse.Server.HttpUrl}", "--Metrics:Port=0");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Kafka:Topic", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_non_numeric_batch_size_exits_with_code_2_naming_Batch_Size()
    {
        var result = await RunAsync(
            $"--Kafka:BootstrapServers={kafka.BootstrapServers}", "--Kafka:Topic=events", $"--ClickHouse:Url={clickHouse.Server.HttpUrl}",
            "--Batch:Size=abc", "--Metrics:Port=0");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Batch:Size", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_nonexistent_table_exits_with_code_2_naming_ClickHouse_Table()
    {
        var topic = kafka.CreateTopic(partitions: 1);
        var table = $"missing_{Guid.NewGuid():N}";

        var result = await RunAsync(
            $"--Kafka:BootstrapServers={kafka.BootstrapServers}", $"--Kafka:Topic={topic}", $"--ClickHouse:Url={clickHouse.Server.HttpUrl}",
            $"--ClickHouse:Table={table}", "--Metrics:Port=0");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("ClickHouse:Table", result.Stderr, StringComparison.Ordinal);
        Assert.Contains(table, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_codec_model_directory_that_cannot_be_loaded_exits_with_code_2_naming_Codec_Models()
    {
        var directory = $"/nonexistent/codec-{Guid.NewGuid():N}";

        var result = await RunAsync(
            $"--Kafka:BootstrapServers={kafka.BootstrapServers}", "--Kafka:Topic=events", $"--ClickHouse:Url={clickHouse.Server.HttpUrl}",
            $"--Codec:Models={directory}", "--Metrics:Port=0");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Codec:Models", result.Stderr, StringComparison.Ordinal);
        Assert.Contains(directory, result.Stderr, StringComparison.Ordinal);
    }

    private static Task<ProcessResult> RunAsync(params string[] configurationArgs) =>
        ExternalProcess.RunAsync(PipelineProcess.DotnetHost, [PipelineProcess.PipelineDll, "run", .. configurationArgs], timeout: Timeout);
}
