namespace EventPipeline.Stages.ClickHouse.Types;

internal static class UnixTime
{
    private static readonly long MinMs = DateTimeOffset.MinValue.ToUnixTimeMilliseconds();
    private static readonly long MaxMs = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    public static bool TryFromMilliseconds(long ms, out DateTime utc)
    {
        var inRange = ms >= MinMs && ms <= MaxMs;
        utc = inRange ? DateTime.UnixEpoch.AddTicks(ms * TimeSpan.TicksPerMillisecond) : default;
        return inRange;
    }
}
