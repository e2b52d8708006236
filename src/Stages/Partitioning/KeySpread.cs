namespace EventPipeline.Stages.Partitioning;

/// <summary>
/// On how many partitions each key landed: what a strategy costs in key locality (1 = every key on one partition, as
/// hashing keeps it; a consumer then sees all of a key's messages, in order, on one partition).
/// </summary>
public sealed class KeySpread
{
    private readonly Dictionary<string, Dictionary<int, long>> _messages = new(StringComparer.Ordinal);

    public void Record(string key, int partition)
    {
        if (!_messages.TryGetValue(key, out var perPartition))
            _messages.Add(key, perPartition = []);
        perPartition[partition] = perPartition.GetValueOrDefault(partition) + 1;
    }

    public int Keys => _messages.Count;

    /// <summary>Partitions per key, averaged over keys (each key counts once).</summary>
    public double MeanPartitionsPerKey => Keys == 0 ? 0 : _messages.Values.Average(p => p.Count);

    /// <summary>Partitions per key, averaged over messages (a hot key counts as often as it is sent).</summary>
    public double MessageWeightedPartitionsPerKey => MessageWeighted(perPartition => perPartition.Count);

    public int MaxPartitionsPerKey => Keys == 0 ? 0 : _messages.Values.Max(p => p.Count);

    public IReadOnlyDictionary<string, int> PartitionsPerKey => _messages.ToDictionary(kv => kv.Key, kv => kv.Value.Count, StringComparer.Ordinal);

    /// <summary>
    /// Consumers a key's messages reach when partitions are owned as <paramref name="ownerOf"/> says, averaged over
    /// messages: 1 when each key is read by one consumer (its rows then arrive in that consumer's inserts only), up to the
    /// number of consumers when a key is spread over all of them (each insert then holds a share of its rows).
    /// </summary>
    public double MessageWeightedOwnersPerKey(Func<int, int> ownerOf) =>
        MessageWeighted(perPartition => perPartition.Keys.Select(ownerOf).Distinct().Count());

    private double MessageWeighted(Func<Dictionary<int, long>, int> perKey)
    {
        long total = 0;
        double weighted = 0;
        foreach (var perPartition in _messages.Values)
        {
            long messages = perPartition.Values.Sum();
            total += messages;
            weighted += (double)perKey(perPartition) * messages;
        }
        return total == 0 ? 0 : weighted / total;
    }
}
