using System.Text;

namespace EventPipeline.Stages.ClickHouse;

/// <summary>Backquoted identifiers for queries built from configuration and DESCRIBE output.</summary>
public static class ClickHouseIdentifier
{
    /// <summary>
    /// Backquotes a name, escaping backslashes and backquotes, so no name can end the identifier early.
    /// Control characters are refused outright: no sane table or column has them, and they would hide in logs.
    /// </summary>
    /// <exception cref="ArgumentException">Empty name or a control character in it.</exception>
    public static string Quote(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var control = name.AsSpan().IndexOfAnyInRange('\0', '\x1f');
        if (control >= 0 || name.Contains('\x7f'))
            throw new ArgumentException($"identifier '{name[..Math.Max(control, 0)]}...' contains a control character", nameof(name));
        var quoted = new StringBuilder(name.Length + 2).Append('`');
        foreach (var c in name)
        {
            if (c is '\\' or '`')
                quoted.Append('\\');
            quoted.Append(c);
        }
        return quoted.Append('`').ToString();
    }
}
