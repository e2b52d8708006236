namespace EventPipeline.Bench;

/// <summary>How every bench leaves its results in perf-data: NAME-yyyyMMdd-HHmmss.json, NAME-latest.json and NAME-latest.png.</summary>
internal static class PerfDataFiles
{
    /// <returns>The paths written: the timestamped JSON, the latest JSON and the chart.</returns>
    public static IReadOnlyList<string> Write(string directory, string name, DateTime startedUtc, string json, Action<string> saveChart)
    {
        Directory.CreateDirectory(directory);
        var stamped = Path.Combine(directory, $"{name}-{startedUtc:yyyyMMdd-HHmmss}.json");
        var latest = Path.Combine(directory, $"{name}-latest.json");
        var chart = Path.Combine(directory, $"{name}-latest.png");
        File.WriteAllText(stamped, json);
        File.WriteAllText(latest, json);
        saveChart(chart);
        return [stamped, latest, chart];
    }
}
