using System.Globalization;

namespace EventPipeline.Bench.Cpu;

/// <summary>CPU time (user + system) a process has used so far, from /proc/PID/stat (fields 14 and 15).</summary>
internal static class ProcessCpu
{
    private static readonly double TicksPerSecond = ReadClockTicks();

    /// <returns>Seconds of CPU, or null when the process is gone.</returns>
    public static double? Seconds(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null;
        }
        // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var user = long.Parse(fields[11], CultureInfo.InvariantCulture);
        var system = long.Parse(fields[12], CultureInfo.InvariantCulture);
        return (user + system) / TicksPerSecond;
    }

    public static double Self() => Seconds(Environment.ProcessId) ?? 0;

    private static double ReadClockTicks()
    {
        using var getconf = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("getconf", "CLK_TCK") { RedirectStandardOutput = true })!;
        var text = getconf.StandardOutput.ReadToEnd().Trim();
        getconf.WaitForExit();
        return double.TryParse(text, CultureInfo.InvariantCulture, out var ticks) && ticks > 0 ? ticks : 100;
    }
}
