using System.Globalization;
using EventPipeline.Stages.Events;

namespace EventPipeline.Stages.ClickHouse.Types;

/// <summary>The text form of a scalar source value for String-like columns, formatted as UTF-8 without allocating.</summary>
internal static class ScalarText
{
    /// <summary>Long enough for any formatted scalar: a "R" double is at most 24 chars, a timestamp 24, a UUID 36.</summary>
    public const int MaxLength = 64;

    public static bool TryFormat(in FieldValue value, Span<byte> utf8, out int written)
    {
        var invariant = CultureInfo.InvariantCulture;
        switch (value.Kind)
        {
            case FieldKind.Int64:
                return value.Int64.TryFormat(utf8, out written, default, invariant);
            case FieldKind.Float64:
                return value.Float64.TryFormat(utf8, out written, "R", invariant);
            case FieldKind.Bool:
            {
                var text = value.Int64 != 0 ? "true"u8 : "false"u8;
                written = text.Length;
                return text.TryCopyTo(utf8);
            }
            case FieldKind.TimestampMs when UnixTime.TryFromMilliseconds(value.Int64, out var time):
                return time.TryFormat(utf8, out written, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", invariant);
            case FieldKind.Uuid:
                return value.Uuid.TryFormat(utf8, out written, "D");
            default:
                written = 0;
                return false;
        }
    }
}
