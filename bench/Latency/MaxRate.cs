namespace EventPipeline.Bench.Latency;

/// <summary>The maximum sustainable rate the offered loads are fractions of: measured by draining a backlog, or given.</summary>
/// <param name="BacklogEvents">Events drained (0 when given).</param>
/// <param name="Partitions">Partitions of the backlog topic (0 when given).</param>
/// <param name="DrainSeconds">From the worker's start until every event was visible (0 when given).</param>
internal sealed record MaxRate(double EventsPerSecond, string Source, long BacklogEvents, int Partitions, double DrainSeconds)
{
    public static MaxRate Given(double eventsPerSecond) => new(eventsPerSecond, "given (--max-rate)", 0, 0, 0);

    public string Describe() => BacklogEvents == 0
        ? $"Maximum rate {EventsPerSecond:N0} events/s, {Source}"
        : $"Maximum rate {EventsPerSecond:N0} events/s, {Source}: {BacklogEvents:N0} events on {Partitions} partitions, all visible {DrainSeconds:F1} s after the worker started";
}
