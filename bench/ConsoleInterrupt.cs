namespace EventPipeline.Bench;

/// <summary>Ctrl+C for a bench: cancels its token instead of killing the process, so it stops its servers and cleans up.</summary>
internal static class ConsoleInterrupt
{
    public static CancellationTokenSource Create()
    {
        var interrupt = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            interrupt.Cancel();
        };
        return interrupt;
    }
}
