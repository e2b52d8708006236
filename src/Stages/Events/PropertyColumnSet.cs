using System.Text;

namespace EventPipeline.Stages.Events;

/// <summary>The property names to extract, kept as UTF-8 so keys are matched without decoding them.</summary>
internal sealed class PropertyColumnSet
{
    private readonly byte[][] _names;

    public PropertyColumnSet(IReadOnlyList<string> names)
    {
        _names = new byte[names.Count][];
        var distinct = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < names.Count; i++)
        {
            string name = names[i];
            if (string.IsNullOrEmpty(name))
            {
                throw new ArgumentException($"PropertyColumns[{i}] is null or empty.", nameof(EventDecoderOptions.PropertyColumns));
            }

            if (!distinct.Add(name))
            {
                throw new ArgumentException($"PropertyColumns lists '{name}' twice.", nameof(EventDecoderOptions.PropertyColumns));
            }

            _names[i] = Encoding.UTF8.GetBytes(name);
            MaxNameBytes = Math.Max(MaxNameBytes, _names[i].Length);
        }
    }

    public int Count => _names.Length;

    public int MaxNameBytes { get; }

    /// <remarks>A linear scan: tables map a handful of property columns, where this beats hashing the key.</remarks>
    public int IndexOf(ReadOnlySpan<byte> name)
    {
        if (name.Length > MaxNameBytes)
        {
            return -1;
        }

        for (int i = 0; i < _names.Length; i++)
        {
            if (name.SequenceEqual(_names[i]))
            {
                return i;
            }
        }

        return -1;
    }
}
