using Confluent.Kafka;
using EventPipeline.DevTools.LocalServers;
using EventPipeline.Stages.ExactlyOnce;
using EventPipeline.Tests.Infrastructure;
using Xunit.Abstractions;

namespace EventPipeline.Tests.ExactlyOnce;

/// <summary>
/// Reading the ledger runs inside the rebalance callback: a retriable broker error there must be retried, not
/// escape (an escaping error leaves the member owning partitions it never fetches). Uses a cluster of its own,
/// since injected request errors hit every client of a cluster.
/// </summary>
public sealed class BatchLedgerFaultsTests(ITestOutputHelper output)
{
    private const short FetchApi = 1;
    private const short ListOffsetsApi = 2;

    [Fact]
    public async Task Reading_the_ledger_retries_failed_fetches_and_offset_lookups_and_returns_the_latest_record()
    {
        using var cluster = MockKafkaCluster.Start();
        cluster.CreateTopic("events", 3);
        cluster.CreateTopic("events.batches", 3);
        using var ledger = new BatchLedger(new BatchLedgerOptions { BootstrapServers = cluster.BootstrapServers, Topic = "events.batches", SourceTopic = "events" },
            TestLogger.Create<BatchLedger>(output));
        await ledger.RecordAsync([(0, [new OffsetRange(0, 9)]), (2, [new OffsetRange(5, 6)])], CancellationToken.None);
        await ledger.RecordAsync([(0, [new OffsetRange(0, 9), new OffsetRange(10, 14)])], CancellationToken.None);

        cluster.PushRequestErrors(ListOffsetsApi, ErrorCode.RequestTimedOut, ErrorCode.NotLeaderForPartition);
        cluster.PushRequestErrors(FetchApi, ErrorCode.RequestTimedOut, ErrorCode.NotLeaderForPartition, ErrorCode.RequestTimedOut);
        var latest = ledger.ReadLatest([0, 1, 2], TimeSpan.FromSeconds(30));

        Assert.Equal([new OffsetRange(0, 9), new OffsetRange(10, 14)], latest[0]);
        Assert.Empty(latest[1]);
        Assert.Equal([new OffsetRange(5, 6)], latest[2]);
    }
}
