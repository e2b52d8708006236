using System.Globalization;

namespace EventPipeline.Bench.Batching;

/// <summary>
/// What a profile changes around the worker besides the load: how many workers share the table, whether ClickHouse
/// sits behind a <see cref="EventPipeline.DevTools.LocalServers.DelayingTcpProxy"/>, and MergeTree settings of the table.
/// </summary>
/// <param name="TableSettings">Appended to the table's DDL as <c>SETTINGS ...</c>; empty: the server's defaults.</param>
internal sealed record ProfileSetup(int Workers, TimeSpan? ProxyDelay, long? ProxyBytesPerSecond, string TableSettings)
{
    public static ProfileSetup For(string profile, BatchingOptions options) => profile switch
    {
        // 18.16 takes MergeTree settings per table in the SETTINGS clause; lowered so that part pressure appears at
        // this scale (its defaults, 150 and 300 active parts per partition, need far more inserts than 2 cores make).
        "merge-pressure" => new(options.Workers ?? 3, null, null, string.Create(CultureInfo.InvariantCulture,
            $"parts_to_delay_insert = {options.PartsToDelayInsert}, parts_to_throw_insert = {options.PartsToThrowInsert}")),
        "slow-clickhouse" => new(options.Workers ?? 1, TimeSpan.FromMilliseconds(options.ProxyDelayMs), options.ProxyBytesPerSecond, ""),
        _ => new(options.Workers ?? 1, null, null, ""),
    };

    public string Describe() =>
        $"{Workers} worker{(Workers == 1 ? "" : "s")}" +
        (ProxyDelay is { } delay ? $", ClickHouse behind a proxy adding {delay.TotalMilliseconds:F0} ms each way" +
            (ProxyBytesPerSecond is { } cap ? $" capped at {cap:N0} B/s" : "") : "") +
        (TableSettings.Length > 0 ? $", table SETTINGS {TableSettings}" : "");
}
