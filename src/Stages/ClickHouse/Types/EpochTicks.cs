using System.Globalization;
using EventPipeline.Stages.Events;

namespace EventPipeline.Stages.ClickHouse.Types;

internal enum EpochTicksResult
{
    Ok,
    NotConvertible,
    Unparseable,
    OutOfRange,
}

/// <summary>
/// A source value as 100 ns ticks since 1970-01-01 UTC, the common unit of Date, DateTime and DateTime64 (exact
/// for every source: milliseconds, seconds and DateTimeOffset ticks). TimestampMs and all-digit strings are epoch
/// milliseconds; Int64 is epoch seconds (what toDateTime(n) means in ClickHouse); other strings are ISO-8601
/// with or without an offset, UTC when it has none.
/// </summary>
internal static class EpochTicks
{
    private static readonly string[] IsoFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mmK",
        "yyyy-MM-dd HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd HH:mm:ssK",
        "yyyy-MM-dd",
    ];

    public static EpochTicksResult TryGet(in FieldValue value, out long ticks)
    {
        ticks = 0;
        switch (value.Kind)
        {
            case FieldKind.TimestampMs or FieldKind.Int64:
            {
                var unit = value.Kind == FieldKind.Int64 ? TimeSpan.TicksPerSecond : TimeSpan.TicksPerMillisecond;
                return TryMultiply(value.Int64, unit, out ticks);
            }
            case FieldKind.String when value.Text!.Length > 0 && !value.Text.AsSpan().ContainsAnyExceptInRange('0', '9'):
                return long.TryParse(value.Text, NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
                    ? TryMultiply(ms, TimeSpan.TicksPerMillisecond, out ticks)
                    : EpochTicksResult.OutOfRange;
            case FieldKind.String:
                if (!DateTimeOffset.TryParseExact(value.Text, IsoFormats, CultureInfo.InvariantCulture,
                        DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
                    return EpochTicksResult.Unparseable;
                ticks = time.UtcTicks - DateTime.UnixEpoch.Ticks;
                return EpochTicksResult.Ok;
            default:
                return EpochTicksResult.NotConvertible;
        }
    }

    /// <summary>The ticks of <paramref name="value"/>, or the column error saying why there are none.</summary>
    public static long Get(ClickHouseType type, in FieldValue value)
    {
        var result = TryGet(value, out var ticks);
        return result switch
        {
            EpochTicksResult.Ok => ticks,
            EpochTicksResult.Unparseable => throw ColumnValueException.For(type, value, "is not an ISO-8601 timestamp or epoch milliseconds"),
            EpochTicksResult.OutOfRange => throw ColumnValueException.For(type, value, "is out of range"),
            _ => throw ColumnValueException.For(type, value, "cannot be converted"),
        };
    }

    /// <summary>Floor division, so that instants before the epoch land in the earlier unit.</summary>
    public static long FloorDivide(long ticks, long unit) => ticks / unit - (ticks % unit < 0 ? 1 : 0);

    private static EpochTicksResult TryMultiply(long count, long unit, out long ticks)
    {
        var product = (Int128)count * unit;
        var inRange = product >= long.MinValue && product <= long.MaxValue;
        ticks = inRange ? (long)product : 0;
        return inRange ? EpochTicksResult.Ok : EpochTicksResult.OutOfRange;
    }
}
