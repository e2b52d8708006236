namespace EventPipeline.Stages.Partitioning;

/// <summary>
/// On how many partitions each key landed: what a strategy costs in key locality (1 = every key on one partition, as
/// hashing keeps it; a consumer then sees all of a key's messages, in order, on one partition).
/// </summary>
public sealed class KeySpread
{
    private readonly Dictionary<string, HashSet<int>> _partitionsByKey = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _messagesByKey = new(StringComparer.Ordinal);

    public void Record(string key, int partition)
    {
        if (!_partitionsByKey.TryGetValue(key, out var partitions))
            _partitionsByKey.Add(key, partitions = []);
        partitions.Add(partition);
        _messagesByKey[key] = _messagesByKey.GetValueOrDefault(key) + 1;
    }

    public int Keys => _partitionsByKey.Count;

    /// <summary>Partitions per key, averaged over keys (each key counts once).</summary>
    public double MeanPartitionsPerKey => Keys == 0 ? 0 : _partitionsByKey.Values.Average(p => p.Count);

    /// <summary>Partitions per key, averaged over messages (a hot key counts as often as it is sent).</summary>
    public double MessageWeightedPartitionsPerKey
    {
        get
        {
            long total = _messagesByKey.Values.Sum();
            return total == 0 ? 0 : _partitionsByKey.Sum(kv => (double)kv.Value.Count * _messagesByKey[kv.Key]) / total;
        }
    }

    public int MaxPartitionsPerKey => Keys == 0 ? 0 : _partitionsByKey.Values.Max(p => p.Count);

    public IReadOnlyDictionary<string, int> PartitionsPerKey => _partitionsByKey.ToDictionary(kv => kv.Key, kv => kv.Value.Count, StringComparer.Ordinal);
}
