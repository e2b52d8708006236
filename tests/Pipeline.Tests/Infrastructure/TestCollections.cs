using Xunit;

namespace EventPipeline.Tests.Infrastructure;

/// <summary>Tests against the shared mock Kafka cluster.</summary>
[CollectionDefinition(Name)]
public sealed class KafkaCollection : ICollectionFixture<KafkaFixture>
{
    public const string Name = "Kafka";
}

/// <summary>Tests against the shared ClickHouse server.</summary>
[CollectionDefinition(Name)]
public sealed class ClickHouseCollection : ICollectionFixture<ClickHouseFixture>
{
    public const string Name = "ClickHouse";
}

/// <summary>End-to-end tests that need both; these get their own cluster and server.</summary>
[CollectionDefinition(Name)]
public sealed class KafkaAndClickHouseCollection : ICollectionFixture<KafkaFixture>, ICollectionFixture<ClickHouseFixture>
{
    public const string Name = "Kafka and ClickHouse";
}

/// <summary>Tests against a ClickHouse with ZooKeeper, for ReplicatedMergeTree deduplication.</summary>
[CollectionDefinition(Name)]
public sealed class ReplicatedClickHouseCollection : ICollectionFixture<ReplicatedClickHouseFixture>
{
    public const string Name = "Replicated ClickHouse";
}
