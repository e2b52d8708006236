namespace EventPipeline.Stages.Partitioning;

/// <summary>
/// Partial Key Grouping whose heavy keys may use more than two partitions: every
/// <see cref="DecisionIntervalMessages"/> messages it shows its policy the <see cref="HeavyKeyCount"/> keys this producer
/// sent most of lately and gives each the number of candidate partitions the policy picks (each message then goes to the
/// least loaded of its key's candidates). Other keys keep two. A key's first candidates stay when its fan-out grows, so a
/// change moves as little as it can.
/// In shadow mode the policy decides but nothing changes (every key keeps two): its decisions are only reported.
/// A policy that throws is dropped for good and the partitioner carries on as plain PKG (<see cref="FallbackReason"/>).
/// </summary>
public sealed class FanOutPartitioner : ProducerPartitioner
{
    public const int DefaultFanOut = 2;

    private const int FirstDecisionMessages = 1024;

    private readonly Dictionary<ulong, KeyEntry> _keys = [];
    private readonly Action<Exception>? _onFallback;
    private readonly KeyEntry[] _heavy;
    private readonly int[] _decided;
    private IFanOutPolicy? _policy;
    private int _sinceDecision;
    private long _seen;

    public FanOutPartitioner(int partitionCount, IFanOutPolicy policy, PartitionStrategy strategy, bool shadow = false,
        int heavyKeyCount = 16, int decisionIntervalMessages = 16_384, int halfLifeMessages = 65_536, Action<Exception>? onFallback = null)
        : base(partitionCount, halfLifeMessages)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(heavyKeyCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(decisionIntervalMessages, 1);
        _policy = policy ?? throw new ArgumentNullException(nameof(policy));
        Strategy = strategy;
        Shadow = shadow;
        HeavyKeyCount = heavyKeyCount;
        DecisionIntervalMessages = decisionIntervalMessages;
        _onFallback = onFallback;
        _heavy = new KeyEntry[heavyKeyCount];
        _decided = new int[heavyKeyCount];
    }

    public override PartitionStrategy Strategy { get; }

    public bool Shadow { get; }

    public int HeavyKeyCount { get; }

    public int DecisionIntervalMessages { get; }

    public string PolicyName => _policy?.Name ?? "pkg (fallback)";

    /// <summary>Why the policy was dropped; null while it is in use.</summary>
    public string? FallbackReason { get; private set; }

    /// <summary>How many times the policy was asked.</summary>
    public long Decisions { get; private set; }

    /// <summary>The heavy keys of the last decision with the fan-out the policy gave each (applied, or only reported in shadow mode).</summary>
    public IReadOnlyList<(HeavyKey Key, int Decided)> LastDecision { get; private set; } = [];

    /// <summary>The fan-out in effect for a key now.</summary>
    public int FanOutOf(ReadOnlySpan<byte> key) => _keys.TryGetValue(KeyId(key), out var entry) ? entry.FanOut : Math.Min(DefaultFanOut, PartitionCount);

    protected override int Place(ReadOnlySpan<byte> key)
    {
        var id = KeyId(key);
        if (!_keys.TryGetValue(id, out var entry))
        {
            entry = new KeyEntry(id, Math.Min(DefaultFanOut, PartitionCount));
            _keys.Add(id, entry);
        }
        if (entry.Candidates is null)
        {
            entry.Candidates = new int[entry.FanOut];
            Candidates(key, PartitionCount, entry.Candidates);
        }
        entry.Load += 1;
        return LeastLoaded(entry.Candidates);
    }

    protected override void Recorded(ReadOnlySpan<byte> key, int partition)
    {
        // The first decisions come sooner (after 1,024, 2,048, 4,096... messages, up to the interval): until then a heavy key
        // is on two partitions, and a run's first seconds should not pay for a full interval of that.
        _seen++;
        if (++_sinceDecision < Math.Min(DecisionIntervalMessages, Math.Max(FirstDecisionMessages, _seen / 2)))
            return;
        _sinceDecision = 0;
        if (_policy is not null)
            Decide(_policy);
    }

    protected override void OnDecayed(double factor)
    {
        List<ulong>? forgotten = null;
        foreach (var (id, entry) in _keys)
        {
            entry.Load *= factor;
            // A key gone quiet is forgotten (it comes back with two choices); one holding a decided fan-out stays until the next decision.
            if (entry.Load < 0.05 && entry.FanOut == Math.Min(DefaultFanOut, PartitionCount))
                (forgotten ??= []).Add(id);
        }
        if (forgotten is not null)
        {
            foreach (var id in forgotten)
                _keys.Remove(id);
        }
    }

    private void Decide(IFanOutPolicy policy)
    {
        int count = HeaviestKeys();
        var heavy = new HeavyKey[count];
        double meanLoad = Load.Total / PartitionCount;
        for (int i = 0; i < count; i++)
        {
            var entry = _heavy[i];
            double candidateLoad = 0;
            if (entry.Candidates is { } candidates && meanLoad > 0)
            {
                foreach (var partition in candidates)
                    candidateLoad += Load[partition];
                candidateLoad /= candidates.Length * meanLoad;
            }
            heavy[i] = new HeavyKey(entry.Id, Load.Total > 0 ? entry.Load / Load.Total : 0, entry.FanOut, candidateLoad);
        }
        var state = new FanOutState(PartitionCount, heavy, LoadBalance.Gini(Load.Loads), LoadBalance.HottestOverMean(Load.Loads));
        var decided = _decided.AsSpan(0, count);
        try
        {
            decided.Fill(Math.Min(DefaultFanOut, PartitionCount));
            policy.Decide(state, decided);
            foreach (var fanOut in decided)
            {
                if (fanOut < 1 || fanOut > PartitionCount)
                    throw new InvalidOperationException($"policy {policy.Name} chose a fan-out of {fanOut} for {PartitionCount} partitions");
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _policy = null;
            FallbackReason = $"{policy.Name}: {ex.Message}";
            ResetFanOuts(keep: 0);
            _onFallback?.Invoke(ex);
            return;
        }
        Decisions++;
        LastDecision = heavy.Select((key, i) => (key, _decided[i])).ToArray();
        if (Shadow)
            return;
        ResetFanOuts(keep: count);
        for (int i = 0; i < count; i++)
            SetFanOut(_heavy[i], decided[i]);
    }

    /// <summary>Fills <see cref="_heavy"/> with the heaviest keys, heaviest first; returns how many.</summary>
    private int HeaviestKeys()
    {
        int count = 0;
        foreach (var entry in _keys.Values)
        {
            if (count < _heavy.Length)
                _heavy[count++] = entry;
            else if (entry.Load > _heavy[count - 1].Load)
                _heavy[count - 1] = entry;
            else
                continue;
            // Insertion step: keep the array sorted by load, heaviest first.
            for (int i = count - 1; i > 0 && _heavy[i].Load > _heavy[i - 1].Load; i--)
                (_heavy[i], _heavy[i - 1]) = (_heavy[i - 1], _heavy[i]);
        }
        return count;
    }

    /// <summary>Gives every key outside the first <paramref name="keep"/> heavy keys its default two choices back.</summary>
    private void ResetFanOuts(int keep)
    {
        var heavy = _heavy.AsSpan(0, keep);
        foreach (var entry in _keys.Values)
        {
            if (entry.FanOut != Math.Min(DefaultFanOut, PartitionCount) && !heavy.Contains(entry))
                SetFanOut(entry, Math.Min(DefaultFanOut, PartitionCount));
        }
    }

    private static void SetFanOut(KeyEntry entry, int fanOut)
    {
        if (entry.FanOut == fanOut)
            return;
        entry.FanOut = fanOut;
        entry.Candidates = null; // recomputed from the key at its next message: the first candidates are the same ones
    }

    private sealed class KeyEntry(ulong id, int fanOut)
    {
        public ulong Id { get; } = id;

        public int FanOut { get; set; } = fanOut;

        public int[]? Candidates { get; set; }

        public double Load { get; set; }
    }
}
