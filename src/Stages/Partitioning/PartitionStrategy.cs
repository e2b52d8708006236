namespace EventPipeline.Stages.Partitioning;

/// <summary>How a producer spreads keyed messages (key = app_id) over a topic's partitions.</summary>
public enum PartitionStrategy
{
    /// <summary>CRC-32 of the key modulo the partition count: librdkafka's default for keyed messages (what the producer did before).</summary>
    Hash,

    /// <summary>Message after message over every partition: perfect balance, no key locality.</summary>
    RoundRobin,

    /// <summary>Partial Key Grouping (Nasir et al., ICDE 2015): two hash choices per key, the less loaded by this producer's count.</summary>
    PartialKeyGrouping,

    /// <summary>Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam, SODA 2018): the key's ring successor with room.</summary>
    BoundedLoad,

    /// <summary>D-Choices (Nasir et al., ICDE 2016): PKG, with as many choices for a heavy key as its share needs.</summary>
    DChoices,

    /// <summary>PKG whose heavy keys get the number of choices a PPO policy picks (src/Models/Partitioning).</summary>
    Learned,
}

public static class PartitionStrategyNames
{
    private static readonly (string Name, PartitionStrategy Strategy)[] Names =
    [
        ("hash", PartitionStrategy.Hash),
        ("round-robin", PartitionStrategy.RoundRobin),
        ("pkg", PartitionStrategy.PartialKeyGrouping),
        ("bounded-load", PartitionStrategy.BoundedLoad),
        ("d-choices", PartitionStrategy.DChoices),
        ("ppo", PartitionStrategy.Learned),
    ];

    public static string All => string.Join(", ", Names.Select(n => n.Name));

    public static string NameOf(PartitionStrategy strategy) => Names.Single(n => n.Strategy == strategy).Name;

    public static bool TryParse(string? name, out PartitionStrategy strategy)
    {
        foreach (var (candidate, value) in Names)
        {
            if (string.Equals(candidate, name, StringComparison.OrdinalIgnoreCase))
            {
                strategy = value;
                return true;
            }
        }
        strategy = default;
        return false;
    }
}
