using System.Text;
using EventPipeline.Stages.Partitioning;
using Xunit;

namespace EventPipeline.Tests.Partitioning;

public sealed class ClassicalPartitionerTests
{
    private const int Partitions = 128;

    [Fact]
    public void Gini_and_hottest_over_mean_have_their_textbook_values()
    {
        Assert.Equal(0, LoadBalance.Gini([5, 5, 5, 5]), 12);
        Assert.Equal(0.75, LoadBalance.Gini([0, 0, 0, 4]), 12); // (n - 1) / n: everything on one of four
        Assert.Equal(4, LoadBalance.HottestOverMean([0, 0, 0, 4]), 12);
        Assert.Equal(1, LoadBalance.HottestOverMean([3, 3, 3]), 12);
        Assert.Equal(0, LoadBalance.Gini([0, 0]));
    }

    [Fact]
    public void Hash_keeps_every_key_on_one_partition_and_piles_a_skewed_stream_onto_few()
    {
        var (sent, spread) = Place(new HashPartitioner(Partitions), ZipfKeys(apps: 1000, exponent: 1.1, count: 200_000));
        Assert.Equal(1, spread.MaxPartitionsPerKey);
        Assert.True(LoadBalance.Gini(sent) > 0.5, $"gini {LoadBalance.Gini(sent):F3}");
    }

    [Fact]
    public void Round_robin_is_even_to_one_message_whatever_the_keys()
    {
        var (sent, _) = Place(new RoundRobinPartitioner(Partitions), ZipfKeys(apps: 1000, exponent: 1.5, count: 100_001));
        Assert.True(sent.Max() - sent.Min() <= 1);
    }

    [Fact]
    public void Partial_key_grouping_keeps_keys_on_at_most_two_partitions_and_balances_better_than_hash()
    {
        var keys = ZipfKeys(apps: 1000, exponent: 1.1, count: 200_000);
        var (hashSent, _) = Place(new HashPartitioner(Partitions), keys);
        var (pkgSent, spread) = Place(new PartialKeyGroupingPartitioner(Partitions), keys);
        Assert.Equal(2, spread.MaxPartitionsPerKey);
        Assert.True(LoadBalance.Gini(pkgSent) < LoadBalance.Gini(hashSent) * 0.8, $"pkg {LoadBalance.Gini(pkgSent):F3} hash {LoadBalance.Gini(hashSent):F3}");
        Assert.DoesNotContain(0L, pkgSent);
    }

    [Fact]
    public void Bounded_load_never_lets_a_partition_exceed_its_capacity_at_the_moment_it_chooses()
    {
        const double epsilon = 0.25;
        var partitioner = new BoundedLoadPartitioner(Partitions, epsilon);
        foreach (var key in ZipfKeys(apps: 1000, exponent: 1.5, count: 100_000))
        {
            double capacity = partitioner.Capacity;
            int partition = partitioner.Choose(key);
            // Just after a decay step the load is scaled down with the total, so the bound still holds then.
            Assert.True(partitioner.Load[partition] <= capacity + 1e-9, $"partition {partition}: {partitioner.Load[partition]:F2} > {capacity:F2}");
        }
        Assert.True(LoadBalance.HottestOverMean(partitioner.Load.Loads) <= 1 + epsilon + 0.05, $"hottest/mean {LoadBalance.HottestOverMean(partitioner.Load.Loads):F2}");
    }

    [Fact]
    public void D_choices_spreads_a_heavy_key_over_as_many_partitions_as_its_share_needs_and_leaves_light_keys_on_two()
    {
        var keys = ZipfKeys(apps: 1000, exponent: 1.5, count: 300_000);
        var partitioner = new PartitionerOptions { Strategy = PartitionStrategy.DChoices }.Create(Partitions);
        var (warmUp, _) = Place(partitioner, keys[..100_000]);
        var (total, spread) = Place(partitioner, keys[100_000..]);
        // Balance once the first decisions were made (before them every key had two choices).
        var sent = total.Zip(warmUp, (all, early) => all - early).ToArray();
        double topShare = keys.Count(k => k.SequenceEqual(keys[0])) / (double)keys.Length;
        var perKey = spread.PartitionsPerKey;
        Assert.True(perKey["app-0"] >= Math.Ceiling(topShare * Partitions / 1.1) - 1, $"top key share {topShare:F3} on {perKey["app-0"]} partitions");
        Assert.True(perKey.Where(kv => kv.Key != "app-0").Count(kv => kv.Value > 2) <= 16, "only the heavy keys get more than two");
        Assert.True(LoadBalance.HottestOverMean(sent) < 1.5, $"hottest/mean {LoadBalance.HottestOverMean(sent):F2}");
    }

    [Fact]
    public void A_policy_in_shadow_mode_decides_but_places_exactly_as_partial_key_grouping()
    {
        var keys = ZipfKeys(apps: 500, exponent: 1.5, count: 100_000);
        var pkg = new PartialKeyGroupingPartitioner(Partitions);
        var shadow = new FanOutPartitioner(Partitions, new DChoicesPolicy(), PartitionStrategy.Learned, shadow: true);
        foreach (var key in keys)
            Assert.Equal(pkg.Choose(key), shadow.Choose(key));
        Assert.True(shadow.Decisions > 0);
        Assert.Contains(shadow.LastDecision, d => d.Decided > 2);
    }

    [Fact]
    public void A_policy_that_throws_is_dropped_once_and_the_partitioner_carries_on_as_partial_key_grouping()
    {
        var failures = new List<Exception>();
        var partitioner = new FanOutPartitioner(Partitions, new FailingPolicy(failAfter: 3), PartitionStrategy.Learned, onFallback: failures.Add);
        var keys = ZipfKeys(apps: 500, exponent: 1.5, count: 200_000);
        int half = keys.Length / 2;
        foreach (var key in keys[..half])
            partitioner.Choose(key);
        Assert.Single(failures);
        Assert.Contains("failing: broken on purpose", partitioner.FallbackReason);
        Assert.Equal("pkg (fallback)", partitioner.PolicyName);
        var spread = new KeySpread();
        foreach (var key in keys[half..])
            spread.Record(Encoding.UTF8.GetString(key), partitioner.Choose(key));
        Assert.Equal(2, spread.MaxPartitionsPerKey);
        Assert.Single(failures);
    }

    [Fact]
    public void A_fan_out_outside_the_partitions_counts_as_a_failing_policy()
    {
        var failures = new List<Exception>();
        var partitioner = new FanOutPartitioner(8, new FixedPolicy(9), PartitionStrategy.Learned, decisionIntervalMessages: 100, onFallback: failures.Add);
        foreach (var key in ZipfKeys(apps: 50, exponent: 1.1, count: 1000))
            partitioner.Choose(key);
        Assert.Single(failures);
        Assert.Contains("fan-out of 9 for 8 partitions", partitioner.FallbackReason);
    }

    [Fact]
    public void Unkeyed_messages_go_round_robin_under_every_strategy()
    {
        foreach (var strategy in new[] { PartitionStrategy.Hash, PartitionStrategy.PartialKeyGrouping, PartitionStrategy.BoundedLoad, PartitionStrategy.DChoices })
        {
            var partitioner = new PartitionerOptions { Strategy = strategy }.Create(4);
            Assert.Equal([0, 1, 2, 3, 0], Enumerable.Range(0, 5).Select(_ => partitioner.Choose([])).ToArray());
        }
    }

    [Fact]
    public void A_growing_fan_out_keeps_a_key_on_its_first_candidates()
    {
        var key = "com.example.game"u8.ToArray();
        Span<int> two = stackalloc int[2];
        Span<int> eight = stackalloc int[8];
        ProducerPartitioner.Candidates(key, Partitions, two);
        ProducerPartitioner.Candidates(key, Partitions, eight);
        Assert.Equal(two.ToArray(), eight[..2].ToArray());
        Assert.Equal(8, eight.ToArray().Distinct().Count());
    }

    [Fact]
    public void Strategy_names_round_trip_and_an_unknown_name_is_refused()
    {
        foreach (var strategy in Enum.GetValues<PartitionStrategy>())
        {
            Assert.True(PartitionStrategyNames.TryParse(PartitionStrategyNames.NameOf(strategy), out var parsed));
            Assert.Equal(strategy, parsed);
        }
        Assert.False(PartitionStrategyNames.TryParse("sticky", out _));
    }

    /// <summary>A deterministic Zipf stream of keys "app-i" (app-0 the heaviest).</summary>
    internal static byte[][] ZipfKeys(int apps, double exponent, int count, int seed = 7)
    {
        var cumulative = new double[apps];
        double total = 0;
        for (int i = 0; i < apps; i++)
            cumulative[i] = total += 1 / Math.Pow(i + 1, exponent);
        var names = Enumerable.Range(0, apps).Select(i => Encoding.UTF8.GetBytes($"app-{i}")).ToArray();
        var random = new Random(seed);
        var keys = new byte[count][];
        for (int m = 0; m < count; m++)
        {
            int index = Array.BinarySearch(cumulative, random.NextDouble() * total);
            keys[m] = names[index < 0 ? ~index : index];
        }
        return keys;
    }

    private static (double[] Sent, KeySpread Spread) Place(ProducerPartitioner partitioner, byte[][] keys)
    {
        var spread = new KeySpread();
        foreach (var key in keys)
            spread.Record(Encoding.UTF8.GetString(key), partitioner.Choose(key));
        return (partitioner.Sent.ToArray().Select(c => (double)c).ToArray(), spread);
    }

    private sealed class FailingPolicy(int failAfter) : IFanOutPolicy
    {
        private int _calls;

        public string Name => "failing";

        public void Decide(FanOutState state, Span<int> fanOuts)
        {
            if (++_calls > failAfter)
                throw new InvalidOperationException("broken on purpose");
            fanOuts.Fill(4);
        }
    }

    private sealed class FixedPolicy(int fanOut) : IFanOutPolicy
    {
        public string Name => "fixed";

        public void Decide(FanOutState state, Span<int> fanOuts) => fanOuts.Fill(fanOut);
    }
}
