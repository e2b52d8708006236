using System.Globalization;

namespace EventPipeline.Stages.ExactlyOnce;

/// <summary>An inclusive range of offsets of one partition: the members of one exactly-once batch.</summary>
public readonly record struct OffsetRange(long First, long Last)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{First}-{Last}");

    public static string Format(IEnumerable<OffsetRange> ranges) => string.Join(",", ranges);

    /// <exception cref="FormatException">Not a list written by <see cref="Format"/>.</exception>
    public static List<OffsetRange> ParseList(string text)
    {
        var ranges = new List<OffsetRange>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            if (dash <= 0
                || !long.TryParse(part.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var first)
                || !long.TryParse(part.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var last)
                || last < first)
                throw new FormatException($"'{part}' is not an offset range");
            ranges.Add(new OffsetRange(first, last));
        }
        return ranges;
    }
}
