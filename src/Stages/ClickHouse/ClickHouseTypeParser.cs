using System.Globalization;
using System.Text;
using EventPipeline.Stages.ClickHouse.Types;

namespace EventPipeline.Stages.ClickHouse;

/// <summary>
/// Recursive parser for the type strings DESCRIBE TABLE returns: a family name with an optional parenthesised
/// argument list whose items are nested types, integers, quoted strings or enum entries (<c>'name' = 1</c>).
/// </summary>
internal static class ClickHouseTypeParser
{
    public static ClickHouseType Parse(string typeText)
    {
        ArgumentNullException.ThrowIfNull(typeText);
        var text = typeText.Trim();
        var open = text.IndexOf('(');
        var family = open < 0 ? text : text[..open].TrimEnd();
        IReadOnlyList<string> args = [];
        if (open >= 0)
        {
            if (!text.EndsWith(')'))
                throw Malformed(text, "unbalanced parentheses");
            args = SplitArguments(text, text[(open + 1)..^1]);
        }

        return family switch
        {
            "String" => NoArguments(text, args, new StringType()),
            "FixedString" => new FixedStringType(text, Integer(text, Single(text, args))),
            "Int8" or "Int16" or "Int32" or "Int64" or "UInt8" or "UInt16" or "UInt32" or "UInt64" =>
                NoArguments(text, args, IntegerType.Create(family)),
            "Float32" or "Float64" => NoArguments(text, args, new FloatType(family)),
            "Bool" => NoArguments(text, args, new BoolType()),
            "Decimal" when args.Count == 2 => new DecimalType(text, Integer(text, args[0]), Integer(text, args[1])),
            "Decimal32" => new DecimalType(text, 9, Integer(text, Single(text, args))),
            "Decimal64" => new DecimalType(text, 18, Integer(text, Single(text, args))),
            "Decimal128" => new DecimalType(text, 38, Integer(text, Single(text, args))),
            "Date" => NoArguments(text, args, new DateType()),
            "DateTime" when args.Count <= 1 => new DateTimeType(text, args.Count == 0 ? null : Unquote(text, args[0])),
            "DateTime64" when args.Count is 1 or 2 =>
                new DateTime64Type(text, Integer(text, args[0]), args.Count == 1 ? null : Unquote(text, args[1])),
            "UUID" => NoArguments(text, args, new UuidType()),
            "Enum8" or "Enum16" => new EnumType(text, family == "Enum8" ? 1 : 2, args.Select(a => EnumEntry(text, a)).ToList()),
            "Nullable" => new NullableType(text, Parse(Single(text, args))),
            "LowCardinality" => new LowCardinalityType(text, Parse(Single(text, args))),
            "Array" => new ArrayType(text, Parse(Single(text, args))),
            _ when family.Length == 0 || !family.All(char.IsAsciiLetterOrDigit) => throw Malformed(text, "no type name"),
            _ => throw new NotSupportedException($"ClickHouse type '{text}' is not supported"),
        };
    }

    /// <summary>Splits at top-level commas, respecting nested parentheses and quoted strings with backslash escapes.</summary>
    private static List<string> SplitArguments(string text, string args)
    {
        var result = new List<string>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case '\'':
                    i = ClosingQuote(text, args, i);
                    break;
                case '(':
                    depth++;
                    break;
                case ')' when --depth < 0:
                    throw Malformed(text, "unbalanced parentheses");
                case ',' when depth == 0:
                    result.Add(args[start..i].Trim());
                    start = i + 1;
                    break;
            }
        }
        if (depth != 0)
            throw Malformed(text, "unbalanced parentheses");
        result.Add(args[start..].Trim());
        if (result.Any(a => a.Length == 0))
            throw Malformed(text, "empty argument");
        return result;
    }

    private static int ClosingQuote(string text, string s, int openQuote)
    {
        for (var i = openQuote + 1; i < s.Length; i++)
        {
            if (s[i] == '\\')
                i++;
            else if (s[i] == '\'')
                return i;
        }
        throw Malformed(text, "unterminated string");
    }

    private static string Unquote(string text, string quoted)
    {
        if (quoted.Length < 2 || quoted[0] != '\'' || ClosingQuote(text, quoted, 0) != quoted.Length - 1)
            throw Malformed(text, $"expected a quoted string, got {quoted}");
        var result = new StringBuilder(quoted.Length);
        for (var i = 1; i < quoted.Length - 1; i++)
        {
            var c = quoted[i];
            result.Append(c == '\\' ? Unescape(quoted[++i]) : c);
        }
        return result.ToString();
    }

    private static char Unescape(char c) => c switch
    {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        '0' => '\0',
        'b' => '\b',
        'f' => '\f',
        'a' => '\a',
        'v' => '\v',
        _ => c,
    };

    private static KeyValuePair<string, short> EnumEntry(string text, string entry)
    {
        var close = entry.StartsWith('\'') ? ClosingQuote(text, entry, 0) : throw Malformed(text, $"bad enum entry {entry}");
        var rest = entry[(close + 1)..].TrimStart();
        if (!rest.StartsWith('=') || !short.TryParse(rest[1..].Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            throw Malformed(text, $"bad enum entry {entry}");
        return new(Unquote(text, entry[..(close + 1)]), value);
    }

    private static string Single(string text, IReadOnlyList<string> args) =>
        args.Count == 1 ? args[0] : throw Malformed(text, "expected one argument");

    private static ClickHouseType NoArguments(string text, IReadOnlyList<string> args, ClickHouseType type) =>
        args.Count == 0 ? type : throw Malformed(text, "unexpected arguments");

    private static int Integer(string text, string arg) =>
        int.TryParse(arg, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw Malformed(text, $"expected an integer, got {arg}");

    private static FormatException Malformed(string text, string why) => new($"malformed ClickHouse type '{text}': {why}");
}
