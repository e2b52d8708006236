using System.Diagnostics;
using EventPipeline.Stages.Batching;

namespace EventPipeline.Models.Batching;

public sealed record TrainerOptions
{
    public int Episodes { get; init; } = 60;
    public int Seed { get; init; } = 7;
    public double EpisodeSeconds { get; init; } = 120;
    public double EvaluationSeconds { get; init; } = 240;
    public double DecisionSeconds { get; init; } = 1.0;
    public int LearnStepsPerDecision { get; init; } = 2;
    public RewardOptions Reward { get; init; } = new();
    public DqnOptions Dqn { get; init; } = new();

    /// <summary>As the worker runs by default (ClickHouse:MaxConcurrentInserts 2, Batch:MaxLatencyMs 500): an agent trained
    /// with one insert at a time and a 1 s timer met a different system in production.</summary>
    public SimulatorOptions Simulator { get; init; } = new() { MaxConcurrentInserts = 2, MaxLatencySeconds = 0.5 };
    public bool AllowUncalibrated { get; init; }
}

/// <summary>
/// Trains the batcher in the simulator (one decision per simulated second, episodes cycling through the load
/// profiles) and evaluates any <see cref="IBatchSizePolicy"/> on the same profiles and seeds, so the agent and
/// the baselines are measured by one yardstick.
/// </summary>
public sealed class BatcherTrainer(InsertCostModel cost, TrainerOptions options)
{
    private const int EvaluationSeed = 1_000_003;

    /// <summary>Rows/s of one insert stream with 100k-row batches: the scale load profiles are drawn on.</summary>
    public double Capacity { get; } = 100_000 / cost.Predict(100_000, (long)(100_000 * cost.BytesPerRow));

    /// <summary>Transitions (decision, reward, next state) the agent was given by <see cref="Train"/>: its training samples.</summary>
    public long TrainingTransitions { get; private set; }

    public (DqnAgent Agent, IReadOnlyList<EpisodeRecord> Curve, double Seconds) Train(Action<EpisodeRecord>? progress = null)
    {
        var watch = Stopwatch.StartNew();
        var agent = new DqnAgent(options.Dqn, options.Seed, forTraining: true);
        var random = new Random(options.Seed);
        var curve = new List<EpisodeRecord>();
        for (var episode = 0; episode < options.Episodes; episode++)
        {
            var epsilon = Math.Max(0.05, 1.0 - episode / Math.Max(1.0, 0.7 * options.Episodes));
            var profileName = LoadProfile.Names[episode % LoadProfile.Names.Count];
            var seed = random.Next();
            var profile = LoadProfile.Create(profileName, Capacity, options.EpisodeSeconds, seed);
            var policy = new ControlledPolicy(BatcherSchema.NearestAction(100_000));
            var sim = new BatchingSimulator(cost, profile, policy, options.Simulator with { Seed = seed }, options.AllowUncalibrated);
            var state = policy.Observation.Features(sim.DayFraction, policy.ActionIndex, options.Reward.SloSeconds);
            double total = 0, lossSum = 0;
            int steps = 0, losses = 0;
            while (sim.Now < options.EpisodeSeconds - 1e-9)
            {
                var action = agent.Act(state, epsilon);
                policy.ActionIndex = action;
                sim.Advance(options.DecisionSeconds);
                var reward = options.Reward.Reward(sim.TakeInterval(), Capacity);
                var next = policy.Observation.Features(sim.DayFraction, action, options.Reward.SloSeconds);
                var done = sim.Now >= options.EpisodeSeconds - 1e-9;
                agent.Remember(state, action, (float)reward, next, done);
                TrainingTransitions++;
                for (var k = 0; k < options.LearnStepsPerDecision; k++)
                {
                    var loss = agent.Learn();
                    if (!double.IsNaN(loss))
                    {
                        lossSum += loss;
                        losses++;
                    }
                }
                state = next;
                total += reward;
                steps++;
            }
            var record = new EpisodeRecord(episode, profileName, Math.Round(total, 4), Math.Round(total / Math.Max(1, steps), 5),
                Math.Round(epsilon, 4), losses > 0 ? Math.Round(lossSum / losses, 6) : null);
            curve.Add(record);
            progress?.Invoke(record);
        }
        return (agent, curve, watch.Elapsed.TotalSeconds);
    }

    /// <summary>Runs <paramref name="policy"/> for one evaluation day of <paramref name="profileName"/> (fixed seed).</summary>
    public EvaluationRow Evaluate(string profileName, string policyName, Func<BatchingSimulatorClock, IBatchSizePolicy> createPolicy)
    {
        var profile = LoadProfile.Create(profileName, Capacity, options.EvaluationSeconds, EvaluationSeed);
        var clock = new BatchingSimulatorClock();
        var policy = createPolicy(clock);
        var sim = new BatchingSimulator(cost, profile, policy, options.Simulator with { Seed = EvaluationSeed }, options.AllowUncalibrated);
        clock.Simulator = sim;
        double total = 0;
        var steps = 0;
        while (sim.Now < options.EvaluationSeconds - 1e-9)
        {
            sim.Advance(options.DecisionSeconds);
            total += options.Reward.Reward(sim.TakeInterval(), Capacity);
            steps++;
        }
        (policy as IDisposable)?.Dispose();
        return new EvaluationRow(profileName, policyName, Math.Round(sim.Inserted / sim.Now, 1), Math.Round(sim.Latency.Quantile(0.5), 4),
            Math.Round(sim.Latency.Quantile(0.95), 4), Math.Round(sim.Latency.Quantile(0.99), 4), Math.Round(sim.Inserts / sim.Now, 3),
            Math.Round(total / steps, 5));
    }

    /// <summary>The trained agent as the runtime policy would run it (same class, simulated clock).</summary>
    public IBatchSizePolicy AgentPolicy(DqnAgent agent, BatchingSimulatorClock clock) =>
        new NonOwningDqnPolicy(new DqnBatchSizePolicy(
            new DqnPolicyOptions { MinSize = 1, MaxSize = options.Simulator.MaxSize, DecisionIntervalSeconds = options.DecisionSeconds },
            null, null, () => clock.Now, () => clock.DayFraction, (agent, options.Reward.SloSeconds)));

    /// <summary>Evaluation table: every static size (the sweep), AIMD, threshold, random and (if given) the agent.</summary>
    public (List<EvaluationRow> Rows, string StaticBest) EvaluateAll(DqnAgent? agent)
    {
        var rows = new List<EvaluationRow>();
        foreach (var profile in LoadProfile.Names)
        {
            foreach (var size in BatcherSchema.Actions)
                rows.Add(Evaluate(profile, $"static-{size}", _ => new StaticBatchSizePolicy(size)));
            rows.Add(Evaluate(profile, "aimd", _ => new AimdBatchSizePolicy(100_000, 1_000, options.Simulator.MaxSize, 5_000, TimeSpan.FromSeconds(1))));
            rows.Add(Evaluate(profile, "threshold", _ => new LatencyTargetBatchSizePolicy(1_000, options.Simulator.MaxSize, TimeSpan.FromSeconds(1))));
            rows.Add(Evaluate(profile, "random", c => new RandomPolicy(c, options.Seed)));
            if (agent is not null)
                rows.Add(Evaluate(profile, "dqn", c => AgentPolicy(agent, c)));
        }
        var staticBest = rows.Where(r => r.Policy.StartsWith("static-", StringComparison.Ordinal))
            .GroupBy(r => r.Policy).MaxBy(g => g.Average(r => r.MeanReward))!.Key;
        return (rows, staticBest);
    }

    /// <summary>The trainer's hands on the batch size: a static policy whose size the agent changes each decision.</summary>
    private sealed class ControlledPolicy(int actionIndex) : IBatchSizePolicy
    {
        public BatcherObservation Observation { get; } = new();
        public int ActionIndex { get; set; } = actionIndex;
        public string Name => "dqn-training";

        public int NextBatchSize(in BatchPolicyInput input)
        {
            Observation.Observe(input.QueuedMessages, input.ArrivalRatePerSecond, input.LastInsertSeconds);
            return BatcherSchema.Actions[ActionIndex];
        }

        public void OnInserted(in BatchInsertOutcome outcome) => Observation.OnInserted(outcome.OldestRowAgeSeconds, outcome.InsertSeconds);
    }

    private sealed class RandomPolicy(BatchingSimulatorClock clock, int seed) : IBatchSizePolicy
    {
        private readonly Random _random = new(seed);
        private double _last = double.NegativeInfinity;
        private int _size = 100_000;
        public string Name => "random";

        public int NextBatchSize(in BatchPolicyInput input)
        {
            if (clock.Now - _last >= 1.0)
            {
                _size = BatcherSchema.Actions[_random.Next(BatcherSchema.ActionCount)];
                _last = clock.Now;
            }
            return _size;
        }

        public void OnInserted(in BatchInsertOutcome outcome)
        {
        }
    }

    /// <summary>Evaluation must not dispose the agent it is still training or saving.</summary>
    private sealed class NonOwningDqnPolicy(DqnBatchSizePolicy inner) : IBatchSizePolicy
    {
        public string Name => inner.Name;
        public int NextBatchSize(in BatchPolicyInput input) => inner.NextBatchSize(input);
        public void OnInserted(in BatchInsertOutcome outcome) => inner.OnInserted(outcome);
    }
}

/// <summary>Simulated time for policies that read a clock (decision interval, time of day).</summary>
public sealed class BatchingSimulatorClock
{
    public BatchingSimulator? Simulator { get; set; }
    public double Now => Simulator?.Now ?? 0;
    public double DayFraction => Simulator?.DayFraction ?? 0;
}
