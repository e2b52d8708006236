using EventPipeline.Models.Partitioning;
using EventPipeline.Stages.Partitioning;

namespace EventPipeline.Tests.Partitioning;

public sealed class PartitioningSimulatorTests
{
    private const int Seed = 1_000_003;

    [Fact]
    public void Workloads_give_zipf_weights_a_flash_crowd_and_a_rotating_ranking()
    {
        var zipf = PartitioningWorkload.Get("zipf-1.5", apps: 100).WeightsAt(0.9);
        Assert.Equal(1.0, zipf[0], 12);
        Assert.Equal(1 / Math.Pow(10, 1.5), zipf[9], 12);

        var flash = PartitioningWorkload.Get("flash-crowd", apps: 100);
        Assert.Equal(1 / Math.Pow(21, 1.1), flash.WeightsAt(0.2)[20], 12);
        Assert.Equal(20 / Math.Pow(21, 1.1), flash.WeightsAt(0.5)[20], 12);
        Assert.Equal(1 / Math.Pow(21, 1.1), flash.WeightsAt(0.7)[20], 12);

        // Phase 1 of 4: the app at index i has rank (i + 25) mod 100, so index 75 is the hottest.
        var diurnal = PartitioningWorkload.Get("diurnal-shift", apps: 100);
        Assert.Equal(0, Array.IndexOf(diurnal.WeightsAt(0.1), 1.0));
        Assert.Equal(75, Array.IndexOf(diurnal.WeightsAt(0.3), 1.0));
        Assert.Equal(25, Array.IndexOf(diurnal.WeightsAt(0.99), 1.0));

        Assert.Contains("known: zipf-1.1", Assert.Throws<ArgumentException>(() => PartitioningWorkload.Get("zipf-2")).Message);
    }

    [Fact]
    public void The_consumer_model_serves_each_worker_max_min_fairly()
    {
        var group = new ConsumerGroupModel(partitionCount: 4, workers: 2, capacityPerWorker: 100);
        Assert.Equal((0, 2), group.PartitionsOf(0));
        Assert.Equal((2, 4), group.PartitionsOf(1));
        // Worker 0 gets 30 + 150: the small partition is served in full, the big one gets the remaining 70 (80 left);
        // worker 1 gets 40 + 40, all served.
        Assert.Equal(0.8, group.Advance([30, 150, 40, 40]), 12);
        Assert.Equal(80, group.WorkerBacklog[0], 12);
        Assert.Equal(0, group.WorkerBacklog[1], 12);
        Assert.Equal(0, group.Advance([0, 0, 0, 0]), 12);
    }

    [Theory]
    [InlineData(PartitionStrategy.Hash)]
    [InlineData(PartitionStrategy.PartialKeyGrouping)]
    [InlineData(PartitionStrategy.BoundedLoad)]
    [InlineData(PartitionStrategy.DChoices)]
    public void The_simulators_placement_is_the_real_partitioners_placement_of_the_same_stream(PartitionStrategy strategy)
    {
        var options = new PartitionerOptions { Strategy = strategy, DecisionIntervalMessages = 4096 };
        var workload = PartitioningWorkload.Get("flash-crowd");
        const long messages = 12 * 4096;
        var result = new PartitioningSimulator(new PartitioningSimulatorOptions { PartitionCount = 64 }).Run(options, null, workload, messages, Seed);

        // The same stream placed by a partitioner built here, message by message, interval by interval.
        var partitioner = options.Create(64);
        var keys = Enumerable.Range(0, workload.Apps).Select(PartitioningSimulator.KeyOf).ToArray();
        var interval = new double[64];
        int placed = 0, closed = 0;
        foreach (var app in PartitioningSimulator.Stream(workload, messages, Seed))
        {
            interval[partitioner.Choose(keys[app])]++;
            if (++placed % 4096 != 0)
                continue;
            Assert.Equal(LoadBalance.HottestOverMean(interval), result.Intervals[closed].HottestOverMean, 12);
            Assert.Equal(LoadBalance.Gini(interval), result.Intervals[closed].Gini, 12);
            closed++;
            Array.Clear(interval);
        }
        Assert.Equal(12, closed);
        Assert.Equal(partitioner.Sent.ToArray(), result.Placed);
    }

    [Fact]
    public void Pkg_balances_a_zipf_1_1_stream_better_than_hash()
    {
        var simulator = new PartitioningSimulator(new PartitioningSimulatorOptions { PartitionCount = 64 });
        var workload = PartitioningWorkload.Get("zipf-1.1");
        const long messages = 64 * 16_384;
        var hash = simulator.Run(new PartitionerOptions { Strategy = PartitionStrategy.Hash }, null, workload, messages, Seed);
        var pkg = simulator.Run(new PartitionerOptions { Strategy = PartitionStrategy.PartialKeyGrouping }, null, workload, messages, Seed);

        // Measured with this seed (the evaluation's first): hash gini 0.519, hottest/mean 11.92; PKG gini 0.331, hottest/mean
        // 5.76 (the top app's share halved over its two partitions). The bounds are a few percent around those.
        Assert.InRange(hash.Gini, 0.50, 0.54);
        Assert.InRange(hash.HottestOverMean, 11.0, 12.8);
        Assert.InRange(pkg.Gini, 0.30, 0.36);
        Assert.InRange(pkg.HottestOverMean, 5.3, 6.3);
        Assert.Equal(1, hash.MaxKeySpread);
        Assert.Equal(2, pkg.MaxKeySpread);
        Assert.Equal(0, pkg.SpreadCost);
    }
}
