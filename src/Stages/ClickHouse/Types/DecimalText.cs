namespace EventPipeline.Stages.ClickHouse.Types;

internal enum DecimalTextResult
{
    Ok,
    Malformed,
    TooManyFractionDigits,
    TooLarge,
}

/// <summary>
/// Exact decimal parsing to a scaled integer (value * 10^scale) without going through double or System.Decimal,
/// which hold neither 38 digits nor every decimal fraction exactly.
/// </summary>
internal static class DecimalText
{
    private const int MaxDigits = 38;
    private const int ExponentCap = 1000;

    /// <param name="roundHalfAwayFromZero">Round excess fraction digits instead of rejecting them.</param>
    public static DecimalTextResult TryScale(ReadOnlySpan<char> text, int scale, bool roundHalfAwayFromZero, out Int128 scaled)
    {
        scaled = 0;
        var negative = text.Length > 0 && text[0] == '-';
        if (text.Length > 0 && text[0] is '-' or '+')
            text = text[1..];

        var integerDigits = CountDigits(text);
        var rest = text[integerDigits..];
        var fractionDigits = 0;
        if (rest.Length > 0 && rest[0] == '.')
        {
            fractionDigits = CountDigits(rest[1..]);
            rest = rest[(1 + fractionDigits)..];
        }
        if (integerDigits + fractionDigits == 0)
            return DecimalTextResult.Malformed;
        var exponent = 0;
        if (rest.Length > 0 && rest[0] is 'e' or 'E' && !TryParseExponent(rest[1..], out exponent))
            return DecimalTextResult.Malformed;
        if (rest.Length > 0 && rest[0] is not ('e' or 'E'))
            return DecimalTextResult.Malformed;

        // The digits without the point form an integer D; the value is D * 10^-(fractionDigits - exponent).
        var shift = scale - (fractionDigits - exponent);
        var digitCount = integerDigits + fractionDigits;
        var kept = shift >= 0 ? digitCount : digitCount + shift;

        Int128 magnitude = 0;
        var significant = 0;
        for (var i = 0; i < kept; i++)
        {
            if (significant == 0 && DigitAt(text, integerDigits, i) == '0')
                continue;
            if (++significant > MaxDigits)
                return DecimalTextResult.TooLarge;
            magnitude = magnitude * 10 + (DigitAt(text, integerDigits, i) - '0');
        }

        for (var i = Math.Max(kept, 0); i < digitCount; i++)
        {
            if (DigitAt(text, integerDigits, i) == '0')
                continue;
            if (!roundHalfAwayFromZero)
                return DecimalTextResult.TooManyFractionDigits;
            // Only the first dropped digit decides half-away-from-zero; a negative kept count means it is a leading zero.
            if (i == kept && DigitAt(text, integerDigits, i) >= '5')
                magnitude++;
            break;
        }

        if (shift > 0 && magnitude != 0)
        {
            if (shift > MaxDigits || magnitude >= Pow10.Of(MaxDigits - shift))
                return DecimalTextResult.TooLarge;
            magnitude *= Pow10.Of(shift);
        }
        scaled = negative ? -magnitude : magnitude;
        return DecimalTextResult.Ok;
    }

    /// <summary>The i-th digit of the number with its decimal point skipped.</summary>
    private static char DigitAt(ReadOnlySpan<char> text, int integerDigits, int i) =>
        i < integerDigits ? text[i] : text[i + 1];

    private static int CountDigits(ReadOnlySpan<char> text)
    {
        var count = 0;
        while (count < text.Length && char.IsAsciiDigit(text[count]))
            count++;
        return count;
    }

    private static bool TryParseExponent(ReadOnlySpan<char> text, out int exponent)
    {
        exponent = 0;
        var sign = 1;
        if (text.Length > 0 && text[0] is '-' or '+')
        {
            sign = text[0] == '-' ? -1 : 1;
            text = text[1..];
        }
        if (text.Length == 0 || CountDigits(text) != text.Length)
            return false;
        foreach (var c in text)
            exponent = Math.Min(exponent * 10 + (c - '0'), ExponentCap);
        exponent *= sign;
        return true;
    }
}

internal static class Pow10
{
    private static readonly Int128[] Powers = Build();

    /// <summary>10^n for n in 0..38.</summary>
    public static Int128 Of(int n) => Powers[n];

    private static Int128[] Build()
    {
        var powers = new Int128[39];
        powers[0] = 1;
        for (var i = 1; i < powers.Length; i++)
            powers[i] = powers[i - 1] * 10;
        return powers;
    }
}
