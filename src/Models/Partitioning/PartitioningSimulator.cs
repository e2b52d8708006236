using System.Numerics;
using System.Text;
using EventPipeline.Stages.Partitioning;

namespace EventPipeline.Models.Partitioning;

/// <summary>One decision interval of a simulated run: how the messages of that interval were spread and what it cost downstream.</summary>
/// <param name="Gini">Of this interval's per-partition message counts.</param>
/// <param name="HottestOverMean">Of this interval's per-partition message counts.</param>
/// <param name="LatencyIntervals">The largest worker backlog over a worker's capacity after this interval: intervals its newest message waits.</param>
public readonly record struct PartitioningInterval(int Index, double Gini, double HottestOverMean, double LatencyIntervals, double Worker0Backlog,
    double Worker1Backlog);

/// <summary>What one simulated run measured: means over its decision intervals, and each key's spread over the whole run.</summary>
/// <param name="MeanKeySpread">Distinct partitions a key used, mean over the keys that sent anything.</param>
/// <param name="MaxKeySpread">Distinct partitions of the most spread key.</param>
/// <param name="SpreadCost">sum over keys of message share * max(0, log2(distinct partitions) - 1): the locality lost beyond PKG's two.</param>
/// <param name="Placed">Messages per partition over the whole run (the partitioner's own Sent counts).</param>
public sealed record SimulationResult(string Strategy, string Workload, int PartitionCount, int Seed, long Messages, double Gini,
    double HottestOverMean, double LatencyIntervals, double MaxLatencyIntervals, double MeanKeySpread, int MaxKeySpread, double SpreadCost,
    IReadOnlyList<PartitioningInterval> Intervals, IReadOnlyList<long> Placed);

public sealed record PartitioningSimulatorOptions
{
    public int PartitionCount { get; init; } = 64;

    public int Workers { get; init; } = 2;

    /// <summary>Offered load over the group's capacity; sets <see cref="CapacityPerWorker"/> unless that is given.</summary>
    public double Utilization { get; init; } = 0.7;

    /// <summary>Messages one worker serves per decision interval; null: interval messages / (workers * utilization).</summary>
    public double? CapacityPerWorker { get; init; }
}

/// <summary>
/// Replays a workload through a real <see cref="ProducerPartitioner"/> (built by <see cref="PartitionerOptions.Create"/>, so the
/// placement is exactly the producer's) and through a <see cref="ConsumerGroupModel"/>. Keys are "app-{index}" in
/// UTF-8, drawn from the workload's weights by a seeded <see cref="Random"/>: the same seed gives the same stream, so
/// strategies are compared on identical messages. Everything counts messages, like the partitioners.
/// </summary>
public sealed class PartitioningSimulator(PartitioningSimulatorOptions options)
{
    public PartitioningSimulatorOptions Options { get; } = options;

    /// <summary>The key bytes of app <paramref name="app"/>.</summary>
    public static byte[] KeyOf(int app) => Encoding.UTF8.GetBytes($"app-{app}");

    /// <summary>
    /// The app of every message of a run, in order: the stream <see cref="Run"/> places (exposed so a test can place it
    /// through a partitioner of its own).
    /// </summary>
    public static IEnumerable<int> Stream(PartitioningWorkload workload, long messages, int seed)
    {
        var random = new Random(seed);
        var cumulative = new double[workload.Apps];
        int segment = -1;
        for (long i = 0; i < messages; i++)
        {
            double progress = (double)i / messages;
            int now = workload.SegmentAt(progress);
            if (now != segment)
            {
                segment = now;
                workload.WeightsAt(progress, cumulative);
                for (int app = 1; app < cumulative.Length; app++)
                    cumulative[app] += cumulative[app - 1];
            }
            double draw = random.NextDouble() * cumulative[^1];
            int found = Array.BinarySearch(cumulative, draw);
            yield return Math.Min(found < 0 ? ~found : found + 1, cumulative.Length - 1);
        }
    }

    /// <summary>
    /// Runs <paramref name="messages"/> messages of <paramref name="workload"/> through the partitioner that
    /// <paramref name="partitioning"/> creates (<paramref name="policy"/>: the learned strategy's policy).
    /// <paramref name="onInterval"/> sees each interval as it closes: a decision taken at the end of interval i acts on
    /// interval i + 1.
    /// </summary>
    public SimulationResult Run(PartitionerOptions partitioning, IFanOutPolicy? policy, PartitioningWorkload workload, long messages, int seed,
        Action<PartitioningInterval>? onInterval = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(messages, 1);
        int n = Options.PartitionCount, interval = partitioning.DecisionIntervalMessages;
        var partitioner = partitioning.Create(n, policy);
        var consumers = new ConsumerGroupModel(n, Options.Workers,
            Options.CapacityPerWorker ?? interval / (Options.Workers * Options.Utilization));
        var keys = Enumerable.Range(0, workload.Apps).Select(KeyOf).ToArray();
        int words = (n + 63) / 64;
        var usedPartitions = new ulong[workload.Apps * words];
        var sentPerApp = new long[workload.Apps];
        var counts = new long[n];
        var countsAsDouble = new double[n];
        var intervals = new List<PartitioningInterval>();
        int inInterval = 0;
        foreach (var app in Stream(workload, messages, seed))
        {
            int partition = partitioner.Choose(keys[app]);
            counts[partition]++;
            sentPerApp[app]++;
            usedPartitions[(app * words) + (partition >> 6)] |= 1UL << (partition & 63);
            if (++inInterval < interval)
                continue;
            inInterval = 0;
            for (int p = 0; p < n; p++)
                countsAsDouble[p] = counts[p];
            double latency = consumers.Advance(counts);
            var closed = new PartitioningInterval(intervals.Count, LoadBalance.Gini(countsAsDouble), LoadBalance.HottestOverMean(countsAsDouble),
                latency, consumers.WorkerBacklog[0], consumers.Workers > 1 ? consumers.WorkerBacklog[1] : 0);
            intervals.Add(closed);
            onInterval?.Invoke(closed);
            Array.Clear(counts);
        }
        // A learned strategy is named after its policy: the trainer's sampling policy and the shipped one are told apart.
        var name = partitioning.Strategy == PartitionStrategy.Learned && policy is not null ? policy.Name : PartitionStrategyNames.NameOf(partitioning.Strategy);
        return Summarise(name, workload, seed, messages, intervals, usedPartitions, words, sentPerApp) with { Placed = partitioner.Sent.ToArray() };
    }

    private SimulationResult Summarise(string strategy, PartitioningWorkload workload, int seed, long messages, List<PartitioningInterval> intervals,
        ulong[] usedPartitions, int words, long[] sentPerApp)
    {
        long keysSeen = 0, spreadSum = 0;
        int maxSpread = 0;
        double spreadCost = 0;
        for (int app = 0; app < sentPerApp.Length; app++)
        {
            if (sentPerApp[app] == 0)
                continue;
            int spread = 0;
            for (int w = 0; w < words; w++)
                spread += BitOperations.PopCount(usedPartitions[(app * words) + w]);
            keysSeen++;
            spreadSum += spread;
            maxSpread = Math.Max(maxSpread, spread);
            spreadCost += (double)sentPerApp[app] / messages * Math.Max(0, Math.Log2(spread) - 1);
        }
        double Mean(Func<PartitioningInterval, double> value) => intervals.Count == 0 ? 0 : intervals.Average(value);
        return new SimulationResult(strategy, workload.Name, Options.PartitionCount, seed, messages, Mean(i => i.Gini), Mean(i => i.HottestOverMean),
            Mean(i => i.LatencyIntervals), intervals.Count == 0 ? 0 : intervals.Max(i => i.LatencyIntervals),
            keysSeen == 0 ? 0 : (double)spreadSum / keysSeen, maxSpread, spreadCost, intervals, []);
    }
}
