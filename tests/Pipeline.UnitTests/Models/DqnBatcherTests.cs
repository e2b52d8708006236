using System.Text.Json.Nodes;
using EventPipeline.Models.Batching;
using EventPipeline.Stages;
using EventPipeline.Stages.Batching;
using Prometheus;

namespace EventPipeline.Tests.Models;

public sealed class DqnBatcherTests
{
    private static readonly TrainerOptions ShortRun = new()
    {
        Episodes = 8, Seed = 11, EpisodeSeconds = 40, EvaluationSeconds = 60, AllowUncalibrated = true,
        Dqn = new DqnOptions { WarmupTransitions = 128, TargetSyncSteps = 100 },
    };

    private static string TempDir() => Directory.CreateTempSubdirectory("batcher-test-").FullName;

    private static (string Dir, DqnAgent Agent) SavedArtifact()
    {
        var agent = new DqnAgent(new DqnOptions(), seed: 5, forTraining: false);
        var dir = TempDir();
        BatcherArtifact.Save(dir, agent, new BatcherMetadata { Version = "test", SchemaHash = BatcherSchema.Hash, Features = BatcherSchema.Features, Actions = BatcherSchema.Actions });
        return (dir, agent);
    }

    [Fact]
    public void Short_training_is_deterministic_and_beats_a_random_policy()
    {
        var trainer = new BatcherTrainer(InsertCostModel.Uncalibrated, ShortRun);
        var (agent, curve, _) = trainer.Train();
        var (again, curveAgain, _) = new BatcherTrainer(InsertCostModel.Uncalibrated, ShortRun).Train();
        using (again)
            Assert.Equal(curve, curveAgain);
        using (agent)
        {
            foreach (var profile in new[] { "steady", "congestion" })
            {
                var dqn = trainer.Evaluate(profile, "dqn", c => trainer.AgentPolicy(agent, c));
                var random = trainer.Evaluate(profile, "random", c => new EvenlyRandom(c));
                Assert.True(dqn.MeanReward > random.MeanReward, $"{profile}: dqn {dqn.MeanReward} <= random {random.MeanReward}");
            }
        }
    }

    [Fact]
    public void A_saved_agent_loads_with_the_same_decisions()
    {
        var (dir, agent) = SavedArtifact();
        using (agent)
        using (var loaded = BatcherArtifact.Load(dir).Agent)
        {
            var random = new Random(1);
            for (var i = 0; i < 50; i++)
            {
                var state = Enumerable.Range(0, BatcherSchema.StateSize).Select(_ => (float)random.NextDouble()).ToArray();
                Assert.Equal(agent.Greedy(state), loaded.Greedy(state));
            }
        }
    }

    [Fact]
    public void A_model_for_another_schema_is_refused_by_name_and_the_policy_falls_back_to_static()
    {
        var (dir, agent) = SavedArtifact();
        agent.Dispose();
        var path = Path.Combine(dir, BatcherArtifact.MetadataFile);
        var json = JsonNode.Parse(File.ReadAllText(path))!;
        json["schema_hash"] = "0123456789abcdef";
        File.WriteAllText(path, json.ToJsonString());

        var error = Assert.Throws<BatcherModelException>(() => BatcherArtifact.Load(dir));
        Assert.Contains("0123456789abcdef", error.Message, StringComparison.Ordinal);
        Assert.Contains(BatcherSchema.Hash, error.Message, StringComparison.Ordinal);

        var metrics = new PipelineMetrics(Metrics.NewCustomRegistry());
        using var policy = new DqnBatchSizePolicy(new DqnPolicyOptions { ModelPath = dir, FallbackSize = 42_000, MinSize = 1000, MaxSize = 200_000 }, metrics);
        Assert.False(policy.UsesModel);
        Assert.Equal(42_000, policy.NextBatchSize(new BatchPolicyInput(10, 1000, 0.1)));
        Assert.Equal(1, metrics.BatchPolicyFallbacks.WithLabels("model_unusable").Value);
        Assert.Equal(1, metrics.BatchPolicyDecisions.WithLabels("fallback").Value);
    }

    [Fact]
    public void A_missing_model_falls_back_to_static()
    {
        using var policy = new DqnBatchSizePolicy(new DqnPolicyOptions { ModelPath = Path.Combine(TempDir(), "nothing"), FallbackSize = 100_000 });
        Assert.False(policy.UsesModel);
        Assert.Contains("pipeline train batcher", policy.LoadError, StringComparison.Ordinal);
        Assert.Equal(100_000, policy.NextBatchSize(default));
    }

    [Fact]
    public void Decisions_are_clamped_to_min_and_max()
    {
        var (dir, agent) = SavedArtifact();
        agent.Dispose();
        var metrics = new PipelineMetrics(Metrics.NewCustomRegistry());
        var now = 0.0;
        using var policy = new DqnBatchSizePolicy(new DqnPolicyOptions { ModelPath = dir, MinSize = 30_000, MaxSize = 30_000 }, metrics, now: () => now);
        Assert.True(policy.UsesModel);
        for (var i = 0; i < 20; i++, now += 1)
            Assert.Equal(30_000, policy.NextBatchSize(new BatchPolicyInput(i * 1000, i * 5000, 0.1 * i)));
        Assert.Equal(20, metrics.BatchPolicyDecisions.WithLabels("model").Value);
        Assert.Equal(30_000, metrics.BatchPolicyChosenSize.WithLabels("model").Value);
    }

    [Fact]
    public void Shadow_mode_acts_with_the_other_policy_and_exports_the_agents_choice()
    {
        var (dir, agent) = SavedArtifact();
        agent.Dispose();
        var metrics = new PipelineMetrics(Metrics.NewCustomRegistry());
        using var shadow = new ShadowBatchSizePolicy(new StaticBatchSizePolicy(7_777), new DqnBatchSizePolicy(new DqnPolicyOptions { ModelPath = dir }, metrics));
        Assert.Equal(7_777, shadow.NextBatchSize(new BatchPolicyInput(5, 100, 0.2)));
        shadow.OnInserted(new BatchInsertOutcome(7_777, 1_000_000, 0.2, true, 0.5));
        Assert.Equal(1, metrics.BatchPolicyDecisions.WithLabels("shadow").Value);
        Assert.Equal(0, metrics.BatchPolicyDecisions.WithLabels("model").Value);
        Assert.Contains(metrics.BatchPolicyChosenSize.WithLabels("shadow").Value, BatcherSchema.Actions.Select(a => (double)a));
    }

    private sealed class EvenlyRandom(BatchingSimulatorClock clock) : IBatchSizePolicy
    {
        private readonly Random _random = new(99);
        private double _last = double.NegativeInfinity;
        private int _size;
        public string Name => "random";

        public int NextBatchSize(in BatchPolicyInput input)
        {
            if (clock.Now - _last >= 1)
            {
                (_size, _last) = (BatcherSchema.Actions[_random.Next(BatcherSchema.ActionCount)], clock.Now);
            }
            return _size;
        }

        public void OnInserted(in BatchInsertOutcome outcome)
        {
        }
    }
}
