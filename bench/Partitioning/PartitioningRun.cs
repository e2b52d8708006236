namespace EventPipeline.Bench.Partitioning;

/// <summary>One strategy on one workload with two workers: what the producer placed and what the workers saw.</summary>
/// <param name="Gini">Of the messages per partition this run (the producer's exact counts).</param>
/// <param name="HottestOverMean">Messages on the hottest partition over the mean.</param>
/// <param name="EmptyPartitions">Partitions that received nothing.</param>
/// <param name="PartitionsPerAppMean">Partitions an app_id landed on, averaged over apps.</param>
/// <param name="PartitionsPerAppWeighted">The same averaged over events (what a consumer of a random event's app sees).</param>
/// <param name="PartitionsPerAppMax">The most partitions any app_id landed on.</param>
/// <param name="BusierWorkerShare">The larger of the two workers' shares of the inserted rows (0.5 = even).</param>
/// <param name="MaxLagPerWorker">The highest total lag each worker showed while the run was produced (sampled every 250 ms).</param>
/// <param name="P99MsPerWorker">Each worker's exact p99 produce->acknowledged over its rows of this run (GET /latency).</param>
/// <param name="P99Ms">The slower worker's p99: at least the p99 of all rows (a bound, exact for that worker's partitions).</param>
/// <param name="ThroughputPerSecond">Events over the time from the first produced to the last visible.</param>
/// <param name="DrainSeconds">From the end of producing to the last row visible.</param>
/// <param name="RowsPerInsert">Rows per insert, both workers together.</param>
/// <param name="WorkersPerApp">Workers an app's events reached, averaged over events: 1 = each app's rows go to one worker's
/// inserts (as hashing keeps them), 2 = every app is split between both workers' inserts.</param>
internal sealed record PartitioningRun(
    string Workload, string Strategy, int Repetition, long Events, double Gini, double HottestOverMean, int EmptyPartitions,
    double PartitionsPerAppMean, double PartitionsPerAppWeighted, int PartitionsPerAppMax, double BusierWorkerShare,
    long[] MaxLagPerWorker, long[] P99MsPerWorker, long P99Ms, long P50Ms, long MaxMs, double ThroughputPerSecond, double DrainSeconds,
    double RowsPerInsert, double WorkersPerApp, string? PolicyFallback)
{
    public string Describe() =>
        $"{Workload,-14} {Strategy,-13} rep {Repetition}: gini {Gini:F3} hottest/mean {HottestOverMean:F2} empty {EmptyPartitions} " +
        $"apps on {PartitionsPerAppMean:F2} partitions (max {PartitionsPerAppMax}), {WorkersPerApp:F2} workers busier worker {BusierWorkerShare:P0} " +
        $"max lag {string.Join("/", MaxLagPerWorker)} p99 {P99Ms} ms ({string.Join("/", P99MsPerWorker)}) throughput {ThroughputPerSecond:N0}/s drain {DrainSeconds:F1} s" +
        (PolicyFallback is null ? "" : $" FALLBACK: {PolicyFallback}");
}
