using System.Globalization;

namespace EventPipeline.Bench.Memory;

/// <summary>A process's resident set size, from the VmRSS line of /proc/PID/status.</summary>
internal static class ProcessRss
{
    /// <returns>Bytes, or null when the process is gone.</returns>
    public static long? Bytes(int pid)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines($"/proc/{pid}/status");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        // "VmRSS:	  123456 kB"
        var line = lines.FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? null : long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }
}
