using Confluent.Kafka;
using EventPipeline.Tests.Infrastructure;
using EventPipeline.Tests.Integration;
using Xunit.Abstractions;

namespace EventPipeline.Tests.ExactlyOnce;

/// <summary>
/// Exactly-once while the Kafka cluster misbehaves under the worker: failed fetches and offset commits (errors a
/// client retries), a broker down for a few seconds, and partition leaders moving, all while events are produced.
/// </summary>
[Collection(ExactlyOnceCollection.Name)]
public sealed class BrokerFaultsTests(KafkaFixture kafka, ReplicatedClickHouseFixture clickHouse, ITestOutputHelper output)
{
    private const short FetchApi = 1;
    private const short OffsetCommitApi = 8;
    private const int Partitions = 12;
    private const int MessageCount = 40_000;
    private static readonly TimeSpan BetweenFaults = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task Fetch_and_commit_errors_a_broker_down_and_leader_moves_leave_no_loss_and_no_duplicate()
    {
        var topic = FaultScenario.CreateTopics(kafka, Partitions);
        var table = await clickHouse.CreateReplicatedEventsTableAsync();
        var messages = EndToEnd.Generate(MessageCount, seed: 41, malformedFraction: 0.01);
        var good = messages.Count(m => !m.IsMalformed);
        var malformed = messages.Count(m => m.IsMalformed);
        var args = EndToEnd.WorkerArgs(kafka.BootstrapServers, topic, $"group-{Guid.NewGuid():N}", clickHouse.Server.HttpUrl, table,
            ("Delivery:Guarantee", "ExactlyOnce"), ("Batch:Size", 500), ("Batch:MaxLatencyMs", 100));

        using var worker = TestPipelineProcess.Start(args, output, "worker");
        var producing = FaultScenario.ProduceGraduallyAsync(kafka, topic, [.. messages.Select(m => m.Payload)], chunks: 20, TimeSpan.FromMilliseconds(400), output);
        await EndToEnd.WaitUntilAsync(async () => await clickHouse.Server.CountAsync(table) > 2_000 || worker.HasExited, FaultScenario.StepTimeout,
            "the first rows", TimeSpan.FromMilliseconds(20));

        output.WriteLine("Fault: fetch errors");
        kafka.Cluster.PushRequestErrors(FetchApi,
            ErrorCode.NotLeaderForPartition, ErrorCode.RequestTimedOut, ErrorCode.NotLeaderForPartition, ErrorCode.LeaderNotAvailable,
            ErrorCode.RequestTimedOut, ErrorCode.NotLeaderForPartition);
        await Task.Delay(BetweenFaults);

        output.WriteLine("Fault: offset commit errors");
        kafka.Cluster.PushRequestErrors(OffsetCommitApi,
            ErrorCode.NotCoordinatorForGroup, ErrorCode.RequestTimedOut, ErrorCode.GroupLoadInProgress, ErrorCode.NotCoordinatorForGroup);
        await Task.Delay(BetweenFaults);

        output.WriteLine("Fault: broker 2 down");
        kafka.Cluster.SetBrokerDown(2);
        await Task.Delay(TimeSpan.FromSeconds(3));
        kafka.Cluster.SetBrokerUp(2);
        output.WriteLine("Fault over: broker 2 up");
        await Task.Delay(BetweenFaults);

        output.WriteLine("Fault: leaders move");
        for (var partition = 0; partition < 4; partition++)
        {
            kafka.Cluster.SetPartitionLeader(topic, partition, 1 + (partition + 1) % 3);
            kafka.Cluster.SetPartitionLeader($"{topic}.batches", partition, 1 + (partition + 2) % 3);
        }
        await Task.Delay(BetweenFaults);

        output.WriteLine("Fault: more fetch and commit errors after the moves");
        kafka.Cluster.PushRequestErrors(FetchApi, ErrorCode.NotLeaderForPartition, ErrorCode.RequestTimedOut);
        kafka.Cluster.PushRequestErrors(OffsetCommitApi, ErrorCode.RequestTimedOut, ErrorCode.NotCoordinatorForGroup);

        await producing;
        await FaultScenario.WaitForEverythingAsync(kafka, clickHouse.Server, table, topic, good, malformed, () => worker.HasExited);
        Assert.False(worker.HasExited, $"the worker exited: {worker.Stderr}");
        worker.Terminate();
        Assert.Equal(0, await worker.WaitForExitAsync(TimeSpan.FromSeconds(40)));

        await FaultScenario.AssertExactlyOnceAsync(output, kafka, clickHouse.Server, table, topic, good, malformed);
    }
}
