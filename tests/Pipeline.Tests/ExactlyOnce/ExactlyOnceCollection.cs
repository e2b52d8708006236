using EventPipeline.Tests.Infrastructure;

namespace EventPipeline.Tests.ExactlyOnce;

/// <summary>The embedded Kafka cluster and a ClickHouse with ZooKeeper (ReplicatedMergeTree deduplicates blocks).</summary>
[CollectionDefinition(Name)]
public sealed class ExactlyOnceCollection : ICollectionFixture<KafkaFixture>, ICollectionFixture<ReplicatedClickHouseFixture>
{
    public const string Name = "Exactly-once";
}
