using EventPipeline.Models.Partitioning;
using EventPipeline.Stages.Partitioning;

namespace EventPipeline.Tests.Partitioning;

public sealed class PpoFanOutPolicyTests
{
    private static readonly PartitionerTrainerOptions ShortRun = new()
    {
        Episodes = 4, Seed = 11, Ppo = new PpoOptions { Hidden = 16, EpisodesPerUpdate = 2, EpisodeIntervals = 6, Epochs = 2, MinibatchSize = 4 },
        Partitioning = new PartitionerOptions { Strategy = PartitionStrategy.Learned, DecisionIntervalMessages = 2048 },
    };

    private static string ShippedArtifact => PartitionerArtifact.DefaultDirectory;

    private static FanOutState RandomState(Random random, int partitions, int keys) => new(partitions,
        [.. Enumerable.Range(0, keys).Select(i => new HeavyKey((ulong)i, random.NextDouble() / (i + 1), 1 << random.Next(7), random.NextDouble() * 4))],
        random.NextDouble(), 1 + (random.NextDouble() * 30));

    [Fact]
    public void Fixed_seed_training_gives_the_same_weights_and_decisions()
    {
        var (first, firstCurve, _) = new PpoTrainer(ShortRun).Train();
        var (second, secondCurve, _) = new PpoTrainer(ShortRun).Train();
        using (first)
        using (second)
        {
            Assert.Equal(2, firstCurve.Count);
            Assert.Equal(firstCurve, secondCurve);
            var a = first.ExportWeights();
            var b = second.ExportWeights();
            Assert.Equal(a.Length, b.Length);
            for (int i = 0; i < a.Length; i++)
                Assert.Equal(a[i], b[i]);
            // Training moved the weights away from a fresh network of the same seed: the updates did something.
            TorchSharp.torch.random.manual_seed(ShortRun.Seed);
            using var untrained = new FanOutNetwork(ShortRun.Ppo.Hidden);
            Assert.NotEqual(untrained.ExportWeights()[0], a[0]);

            var policyA = new PpoFanOutPolicy(new FanOutInference(a, ShortRun.Ppo.Hidden));
            var policyB = new PpoFanOutPolicy(new FanOutInference(b, ShortRun.Ppo.Hidden));
            var random = new Random(3);
            for (int i = 0; i < 20; i++)
            {
                var state = RandomState(random, 128, FanOutSchema.Slots);
                int[] decidedA = new int[FanOutSchema.Slots], decidedB = new int[FanOutSchema.Slots];
                policyA.Decide(state, decidedA);
                policyB.Decide(state, decidedB);
                Assert.Equal(decidedA, decidedB);
            }
        }
    }

    [Fact]
    public void The_shipped_artifact_loads_and_decides_fan_outs_within_the_partition_count()
    {
        var policy = PpoFanOutPolicy.Load(ShippedArtifact);
        Assert.Equal("ppo", policy.Name);
        Assert.StartsWith("1.0.0+seed", policy.Version);
        var random = new Random(5);
        var seen = new HashSet<int>();
        foreach (var partitions in new[] { 1, 2, 3, 12, 64, 128, 500 })
        {
            for (int i = 0; i < 50; i++)
            {
                var state = RandomState(random, partitions, 1 + random.Next(FanOutSchema.Slots));
                var decided = new int[state.HeavyKeys.Count];
                policy.Decide(state, decided);
                Assert.All(decided, d => Assert.InRange(d, 1, partitions));
                seen.UnionWith(decided);
            }
        }
        // Not a constant: the policy gives different keys different fan-outs.
        Assert.True(seen.Count >= 2, $"fan-outs seen: {string.Join(',', seen)}");
    }

    [Fact]
    public void A_schema_mismatch_or_a_missing_directory_is_refused_with_a_clear_message()
    {
        var dir = Directory.CreateTempSubdirectory("partitioner-test-").FullName;
        TorchSharp.torch.random.manual_seed(1);
        using (var network = new FanOutNetwork(8))
            PartitionerArtifact.Save(dir, network, new PartitionerMetadata { Version = "old", SchemaHash = "0123456789abcdef", Ppo = new PpoOptions { Hidden = 8 } });
        var mismatch = Assert.Throws<PartitionerModelException>(() => PpoFanOutPolicy.Load(dir));
        Assert.Contains("trained for schema 0123456789abcdef", mismatch.Message);
        Assert.Contains($"this build uses {FanOutSchema.Hash}", mismatch.Message);
        Assert.Contains("pipeline train partitioner", mismatch.Message);

        var missing = Path.Combine(dir, "nothing-here");
        var absent = Assert.Throws<PartitionerModelException>(() => PpoFanOutPolicy.Load(missing));
        Assert.Contains($"'{missing}' does not exist", absent.Message);

        File.Delete(Path.Combine(dir, PartitionerArtifact.WeightsFile));
        File.WriteAllText(Path.Combine(dir, PartitionerArtifact.MetadataFile),
            File.ReadAllText(Path.Combine(dir, PartitionerArtifact.MetadataFile)).Replace("0123456789abcdef", FanOutSchema.Hash, StringComparison.Ordinal));
        Assert.Contains($"no {PartitionerArtifact.WeightsFile}", Assert.Throws<PartitionerModelException>(() => PpoFanOutPolicy.Load(dir)).Message);
    }

    [Fact]
    public void The_trained_policy_in_shadow_mode_leaves_placement_identical_to_pkg()
    {
        var policy = PpoFanOutPolicy.Load(ShippedArtifact);
        var shadow = (FanOutPartitioner)new PartitionerOptions { Strategy = PartitionStrategy.Learned, Shadow = true }.Create(128, policy);
        var pkg = new PartitionerOptions { Strategy = PartitionStrategy.PartialKeyGrouping }.Create(128);
        var keys = Enumerable.Range(0, 1000).Select(PartitioningSimulator.KeyOf).ToArray();
        bool wantedMore = false;
        long decisions = 0;
        foreach (var app in PartitioningSimulator.Stream(PartitioningWorkload.Get("zipf-1.5"), 8 * 16_384, seed: 9))
        {
            Assert.Equal(pkg.Choose(keys[app]), shadow.Choose(keys[app]));
            if (shadow.Decisions != decisions)
            {
                decisions = shadow.Decisions;
                wantedMore |= shadow.LastDecision.Any(d => d.Decided > FanOutPartitioner.DefaultFanOut);
            }
        }
        // After 1, 2, 4, 8 and 16 Ki messages, then every 16 Ki: 12 decisions in 128 Ki messages.
        Assert.Equal(12, shadow.Decisions);
        Assert.Null(shadow.FallbackReason);
        // The policy did ask for more than two partitions for some key, and still nothing moved.
        Assert.True(wantedMore);
    }
}
