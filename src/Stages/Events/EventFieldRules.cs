using System.Buffers.Text;
using System.Text;

namespace EventPipeline.Stages.Events;

/// <summary>Validation and normalisation shared by the JSON and Protobuf paths, so both accept the same values.</summary>
internal static class EventFieldRules
{
    public const string Ios = "ios";
    public const string Android = "android";

    /// <summary>First instant not accepted: ClickHouse's DateTime ends in February 2106.</summary>
    public static readonly long MaxTimestampMsExclusive = new DateTimeOffset(2106, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    // All 676 upper-case pairs, built once, so a valid country costs no allocation per event.
    private static readonly string[] CountryCodes = BuildCountryCodes();

    public static bool IsTimestampInRange(long epochMs) => epochMs >= 0 && epochMs < MaxTimestampMsExclusive;

    /// <summary>
    /// Epoch numbers below 10^11 (1973-03-03 as milliseconds) are refused: nearly always epoch seconds sent by mistake
    /// (1718000000 s is June 2024; read as milliseconds it is 1970-01-20), which would otherwise be stored without a word
    /// as dates in January 1970. ISO 8601 text is not affected: a 1970 date written out is meant.
    /// </summary>
    public const long MinPlausibleEpochMs = 100_000_000_000;

    /// <summary>Null when <paramref name="epochMs"/>, given as an epoch number, is plausible; else the dead-letter reason.</summary>
    public static string? ImplausibleEpochNumber(string field, long epochMs) =>
        epochMs is >= 0 and < MinPlausibleEpochMs
            ? $"{field}: {epochMs} is {DateTimeOffset.FromUnixTimeMilliseconds(epochMs):yyyy-MM-dd} as epoch milliseconds; it looks like epoch seconds (send milliseconds)"
            : null;

    /// <summary>Canonical 8-4-4-4-12 hex form only, either case.</summary>
    public static bool TryParseUuid(ReadOnlySpan<byte> utf8, out Guid id) =>
        Utf8Parser.TryParse(utf8, out id, out int consumed, 'D') && consumed == utf8.Length;

    public static bool TryParseUuid(string text, out Guid id) => Guid.TryParseExact(text, "D", out id);

    public static string? NormalizePlatform(ReadOnlySpan<byte> utf8) =>
        Ascii.EqualsIgnoreCase(utf8, "ios"u8) ? Ios : Ascii.EqualsIgnoreCase(utf8, "android"u8) ? Android : null;

    /// <summary>
    /// Any two ASCII letters, upper-cased. Assigned-code lists are deliberately not checked: user-assigned codes
    /// such as XK (Kosovo) are in common use, and the list changes over time.
    /// </summary>
    public static string? NormalizeCountry(ReadOnlySpan<byte> utf8) =>
        utf8.Length == 2 && char.IsAsciiLetter((char)utf8[0]) && char.IsAsciiLetter((char)utf8[1])
            ? CountryCodes[(((utf8[0] | 0x20) - 'a') * 26) + ((utf8[1] | 0x20) - 'a')]
            : null;

    public static string? NormalizeCountry(string text) =>
        text.Length == 2 && char.IsAsciiLetter(text[0]) && char.IsAsciiLetter(text[1])
            ? CountryCodes[(((text[0] | 0x20) - 'a') * 26) + ((text[1] | 0x20) - 'a')]
            : null;

    /// <summary>Epoch milliseconds written as a decimal string, e.g. "1718000000000".</summary>
    public static bool TryParseEpochMsText(ReadOnlySpan<byte> utf8, out long epochMs)
    {
        ReadOnlySpan<byte> digits = utf8.Length > 0 && utf8[0] == (byte)'-' ? utf8[1..] : utf8;
        if (digits.IsEmpty || digits.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0)
        {
            epochMs = 0;
            return false;
        }

        return Utf8Parser.TryParse(utf8, out epochMs, out int consumed) && consumed == utf8.Length;
    }

    /// <summary>
    /// RFC 3339 profile of ISO 8601: <c>YYYY-MM-DD(T|t| )hh:mm:ss[.fraction](Z|z|±hh:mm|±hhmm)</c>. An offset is
    /// required because a local time without one cannot be placed on the UTC axis. Fractions below a millisecond
    /// are truncated.
    /// </summary>
    public static bool TryParseIso8601(ReadOnlySpan<byte> s, out long epochMs)
    {
        epochMs = 0;
        if (s.Length < 20
            || !TryDigits(s, 0, 4, out int year) || s[4] != '-'
            || !TryDigits(s, 5, 2, out int month) || s[7] != '-'
            || !TryDigits(s, 8, 2, out int day) || ((s[10] | 0x20) != 't' && s[10] != ' ')
            || !TryDigits(s, 11, 2, out int hour) || s[13] != ':'
            || !TryDigits(s, 14, 2, out int minute) || s[16] != ':'
            || !TryDigits(s, 17, 2, out int second))
        {
            return false;
        }

        int position = 19;
        int millis = 0;
        if (s[position] == '.')
        {
            int start = ++position;
            while (position < s.Length && char.IsAsciiDigit((char)s[position]))
            {
                if (position - start < 3)
                {
                    millis = (millis * 10) + (s[position] - '0');
                }

                position++;
            }

            int fractionDigits = position - start;
            if (fractionDigits is 0 or > 9)
            {
                return false;
            }

            for (int i = fractionDigits; i < 3; i++)
            {
                millis *= 10;
            }
        }

        if (!TryParseOffset(s[position..], out int offsetMinutes)
            || year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month)
            || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        long ticks = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc).Ticks - DateTime.UnixEpoch.Ticks;
        epochMs = (ticks / TimeSpan.TicksPerMillisecond) + millis - (offsetMinutes * 60_000L);
        return true;
    }

    private static bool TryParseOffset(ReadOnlySpan<byte> s, out int minutes)
    {
        minutes = 0;
        if (s is [var z] && (z | 0x20) == 'z')
        {
            return true;
        }

        if (s.Length is not (5 or 6) || s[0] is not ((byte)'+' or (byte)'-') || !TryDigits(s, 1, 2, out int hours))
        {
            return false;
        }

        int minuteStart = s.Length == 6 ? 4 : 3;
        if ((s.Length == 6 && s[3] != ':') || !TryDigits(s, minuteStart, 2, out int mins) || hours > 23 || mins > 59)
        {
            return false;
        }

        minutes = (s[0] == '-' ? -1 : 1) * ((hours * 60) + mins);
        return true;
    }

    private static bool TryDigits(ReadOnlySpan<byte> s, int start, int count, out int value)
    {
        value = 0;
        for (int i = start; i < start + count; i++)
        {
            int digit = s[i] - '0';
            if ((uint)digit > 9)
            {
                return false;
            }

            value = (value * 10) + digit;
        }

        return true;
    }

    private static string[] BuildCountryCodes()
    {
        var codes = new string[26 * 26];
        for (int i = 0; i < codes.Length; i++)
        {
            codes[i] = string.Create(2, i, static (span, index) =>
            {
                span[0] = (char)('A' + (index / 26));
                span[1] = (char)('A' + (index % 26));
            });
        }

        return codes;
    }
}
