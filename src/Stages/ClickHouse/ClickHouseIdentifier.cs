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
        var quoted = new StringBuilder(name.Length + 2).Append('`');
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsControl(c))
                throw new ArgumentException($"identifier contains a control character (U+{(int)c:X4}) at index {i}", nameof(name));
            if (c is '\\' or '`')
                quoted.Append('\\');
            quoted.Append(c);
        }
        return quoted.Append('`').ToString();
    }

    /// <summary>Checks a configured name up front so that a bad one fails at start, naming its configuration key.</summary>
    public static void Validate(string name, string key)
    {
        if (string.IsNullOrWhiteSpace(name))
            throw new ArgumentException($"{key} must not be empty", key);
        if (name.Length > 255)
            throw new ArgumentException($"{key} is longer than 255 characters", key);
        foreach (var c in name)
        {
            if (char.IsControl(c))
                throw new ArgumentException($"{key} contains a control character", key);
        }
    }
}
