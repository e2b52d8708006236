namespace EventPipeline.Bench;

/// <summary>
/// The order in which a bench's contenders take turns within one repetition. A seeded shuffle, not a rotation: a
/// rotation gives each contender the same predecessor in every repetition, and whatever a run leaves behind
/// (ClickHouse merging its parts, the broker's log cleaning, a warm page cache) would then always weigh on the same
/// successor.
/// </summary>
internal static class RunOrder
{
    public static T[] Shuffled<T>(IReadOnlyList<T> contenders, int seed)
    {
        var order = contenders.ToArray();
        new Random(seed).Shuffle(order);
        return order;
    }
}
