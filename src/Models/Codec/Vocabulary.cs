using System.Text;

namespace EventPipeline.Models.Codec;

/// <summary>
/// The values of one categorical field seen often enough in training, by UTF-8 bytes. Index <see cref="Unseen"/>
/// means "not in the vocabulary: the value travels in the side channel"; <see cref="Absent"/> means the field has no
/// value (null properties, no revenue, an unused property slot). Lookups take a span: no string per event.
/// </summary>
internal sealed class Vocabulary
{
    public const int Unseen = 0;
    public const int Absent = 1;
    public const int Reserved = 2;

    private readonly Dictionary<byte[], int>.AlternateLookup<ReadOnlySpan<byte>> _lookup;

    public Vocabulary(IReadOnlyList<string> entries)
    {
        Entries = [.. entries];
        Utf8 = [.. entries.Select(Encoding.UTF8.GetBytes)];
        var byBytes = new Dictionary<byte[], int>(Utf8Comparer.Instance);
        for (var i = 0; i < Utf8.Length; i++)
        {
            if (!byBytes.TryAdd(Utf8[i], i + Reserved))
                throw new ArgumentException($"duplicate vocabulary entry '{entries[i]}'", nameof(entries));
        }
        _lookup = byBytes.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    /// <summary>The entries in index order, index <see cref="Reserved"/> first; strings are shared by every decoded event.</summary>
    public string[] Entries { get; }

    public byte[][] Utf8 { get; }

    /// <summary>Entries plus the two reserved indexes: the size of the model's output for this field.</summary>
    public int Size => Entries.Length + Reserved;

    public int IndexOf(ReadOnlySpan<byte> utf8) => _lookup.TryGetValue(utf8, out var index) ? index : Unseen;

    public string Entry(int index) => Entries[index - Reserved];

    public byte[] EntryUtf8(int index) => Utf8[index - Reserved];

    /// <summary>The most frequent values with at least <paramref name="minCount"/> occurrences, at most <paramref name="capacity"/>, ties by ordinal order.</summary>
    public static Vocabulary Learn(IEnumerable<string> values, int capacity, int minCount) =>
        new(values.GroupBy(v => v, StringComparer.Ordinal)
            .Select(g => (Value: g.Key, Count: g.Count()))
            .Where(e => e.Count >= minCount)
            .OrderByDescending(e => e.Count).ThenBy(e => e.Value, StringComparer.Ordinal)
            .Take(capacity - Reserved)
            .Select(e => e.Value)
            .ToList());

    private sealed class Utf8Comparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly Utf8Comparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => GetHashCode(obj.AsSpan());

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate)
        {
            var hash = new HashCode();
            hash.AddBytes(alternate);
            return hash.ToHashCode();
        }

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }
}
