namespace EventPipeline.Models.Codec;

/// <summary>
/// Training counts of one coded quantity (a field's index, a length, a byte at a position), overall and per parent
/// context (e.g. platform per app_id). Saved in the artifact as counts; the coder's tables are quantised from them at
/// load (<see cref="FrequencyTable.FromCounts"/>), so they are the same on every machine.
/// </summary>
public sealed record ContextCounts
{
    /// <summary>A parent context needs this many training observations for a table of its own; rarer ones use the marginal.</summary>
    public const long MinParentObservations = 40;

    public required int Symbols { get; init; }
    public required long[] Marginal { get; init; }

    /// <summary>Counts per parent context, only for parents seen at least <see cref="MinParentObservations"/> times.</summary>
    public required SortedDictionary<int, long[]> ByParent { get; init; }

    public static ContextCounts Empty(int symbols) => new() { Symbols = symbols, Marginal = new long[symbols], ByParent = [] };

    public void Add(int parent, int symbol)
    {
        Marginal[symbol]++;
        if (!ByParent.TryGetValue(parent, out var counts))
            ByParent[parent] = counts = new long[Symbols];
        counts[symbol]++;
    }

    /// <summary>Adds another chunk's counts of the same quantity.</summary>
    public void AddAll(ContextCounts other)
    {
        for (var s = 0; s < Symbols; s++)
            Marginal[s] += other.Marginal[s];
        foreach (var (parent, counts) in other.ByParent)
        {
            if (!ByParent.TryGetValue(parent, out var mine))
                ByParent[parent] = mine = new long[Symbols];
            for (var s = 0; s < Symbols; s++)
                mine[s] += counts[s];
        }
    }

    /// <summary>Drops parents too rare to trust (they fall back to the marginal).</summary>
    public ContextCounts Pruned() => this with
    {
        ByParent = new SortedDictionary<int, long[]>(ByParent.Where(p => p.Value.Sum() >= MinParentObservations).ToDictionary(p => p.Key, p => p.Value)),
    };
}

/// <summary>The frequency tables of one coded quantity: one per known parent context, the marginal for the rest.</summary>
internal sealed class ContextTable
{
    /// <summary>Parents are small indices (vocabulary entries, positions): looked up in an array, not hashed, per symbol.</summary>
    private const int MaxDenseParent = 1 << 16;

    private readonly Dictionary<int, FrequencyTable> _byParent;
    private readonly FrequencyTable[] _dense;

    public ContextTable(ContextCounts counts)
    {
        if (counts.Marginal.Length != counts.Symbols || counts.ByParent.Values.Any(c => c.Length != counts.Symbols))
            throw new CodecModelException($"count table of {counts.Symbols} symbols holds rows of another length");
        Marginal = FrequencyTable.FromCounts(counts.Marginal);
        _byParent = counts.ByParent.ToDictionary(p => p.Key, p => FrequencyTable.FromCounts(p.Value));
        var denseParents = _byParent.Keys.Where(k => k is >= 0 and < MaxDenseParent).DefaultIfEmpty(-1).Max() + 1;
        _dense = new FrequencyTable[denseParents];
        Array.Fill(_dense, Marginal);
        foreach (var (parent, table) in _byParent)
        {
            if (parent is >= 0 and < MaxDenseParent)
                _dense[parent] = table;
        }
    }

    public FrequencyTable Marginal { get; }

    public IReadOnlyDictionary<int, FrequencyTable> ByParent => _byParent;

    public FrequencyTable For(int parent) =>
        (uint)parent < (uint)_dense.Length ? _dense[parent] : _byParent.TryGetValue(parent, out var table) ? table : Marginal;
}
