using System.Globalization;
using System.Text.RegularExpressions;

namespace EventPipeline.Host.Commands.Dlq;

/// <summary>Which dead letters <c>dlq list</c> and <c>dlq replay</c> act on; an empty filter matches all.</summary>
/// <param name="Since">Inclusive, against the dead letter's Kafka timestamp.</param>
/// <param name="Until">Exclusive.</param>
internal sealed record DeadLetterFilter(
    IReadOnlySet<string> Kinds, string? Stage, DateTimeOffset? Since, DateTimeOffset? Until, IReadOnlySet<int> SourcePartitions)
{
    public static DeadLetterFilter All { get; } = new(new HashSet<string>(), null, null, null, new HashSet<int>());

    public bool Matches(DeadLetterRecord record) =>
        (Kinds.Count == 0 || Kinds.Contains(record.Kind)) &&
        (Stage is null || string.Equals(Stage, record.Stage, StringComparison.Ordinal)) &&
        (Since is null || record.Timestamp >= Since) &&
        (Until is null || record.Timestamp < Until) &&
        (SourcePartitions.Count == 0 || (record.SourcePartition is { } p && SourcePartitions.Contains(p)));

    /// <summary>Repeated and/or comma-separated values, trimmed, empty ones dropped.</summary>
    public static HashSet<string> SplitList(IEnumerable<string>? values) =>
        (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToHashSet(StringComparer.Ordinal);
}

/// <summary>--since/--until values: ISO-8601 (a time without an offset is UTC) or a relative age such as 30m, 2h, 7d.</summary>
internal static partial class TimeArgument
{
    [GeneratedRegex(@"^(?<n>\d+)(?<unit>s|m|h|d|w)$", RegexOptions.CultureInvariant)]
    private static partial Regex Relative();

    /// <returns>Null when the text is neither.</returns>
    public static DateTimeOffset? Parse(string text, DateTimeOffset now)
    {
        text = text.Trim();
        var match = Relative().Match(text);
        if (match.Success && long.TryParse(match.Groups["n"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= 100_000)
        {
            var age = match.Groups["unit"].Value switch
            {
                "s" => TimeSpan.FromSeconds(n),
                "m" => TimeSpan.FromMinutes(n),
                "h" => TimeSpan.FromHours(n),
                "d" => TimeSpan.FromDays(n),
                _ => TimeSpan.FromDays(7 * n),
            };
            return now - age;
        }
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var absolute))
            return absolute;
        return null;
    }
}
