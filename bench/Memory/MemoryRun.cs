namespace EventPipeline.Bench.Memory;

/// <summary>One drain of one backlog by a fresh worker process, with its RSS sampled throughout.</summary>
/// <param name="Seconds">From the worker's start until every event was visible.</param>
/// <param name="PeakRssMiB">Highest VmRSS sample, start-up included.</param>
/// <param name="MedianRssMiB">Median VmRSS while draining: from the first row visible until the last.</param>
/// <param name="Rows">count() after the drain: equal to the events loaded, or the bench failed.</param>
/// <param name="DistinctEvents">uniqExact(event_id) after the drain: equal too (no duplicate hid a loss).</param>
/// <param name="Samples">[seconds since the worker started, VmRSS MiB, rows visible] every sample interval.</param>
internal sealed record MemoryRun(int Repetition, long Events, int Partitions, double Seconds, double PeakRssMiB, double MedianRssMiB,
    long Rows, long DistinctEvents, int MetricsScrapes, List<double[]> Samples)
{
    public string Describe() =>
        $"[{Repetition}] {Events,10:N0} events  {Seconds,7:F1} s  peak RSS {PeakRssMiB,7:F1} MiB  median RSS while draining {MedianRssMiB,7:F1} MiB  " +
        $"rows {Rows:N0} (distinct {DistinctEvents:N0})";
}
