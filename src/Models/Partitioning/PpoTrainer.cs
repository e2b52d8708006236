using System.Diagnostics;
using EventPipeline.Stages.Partitioning;
using TorchSharp;
using static TorchSharp.torch;

namespace EventPipeline.Models.Partitioning;

public sealed record PpoOptions
{
    public int Hidden { get; init; } = 32;
    public double LearningRate { get; init; } = 2e-3;
    public double Gamma { get; init; } = 0.5;
    public double GaeLambda { get; init; } = 0.95;
    public double Clip { get; init; } = 0.2;
    public int Epochs { get; init; } = 10;
    public int MinibatchSize { get; init; } = 64;
    public double EntropyWeight { get; init; } = 0.01;
    public double ValueWeight { get; init; } = 0.5;
    public double MaxGradNorm { get; init; } = 0.5;

    /// <summary>
    /// Clip each heavy-key slot's probability ratio on its own instead of the joint ratio of the multi-discrete action
    /// (the product over 16 slots): a joint ratio leaves [1 - clip, 1 + clip] after ~1% change per slot, which stalled
    /// learning (measured: greedy fan-outs never above 8 after 200 episodes). Each slot's advantage then keeps only its
    /// own spread charge: the other slots' charges do not depend on its action, so dropping them removes noise, not signal.
    /// The joint log-probability (sum over slots) is still what is sampled and recorded.
    /// </summary>
    public bool PerSlotRatio { get; init; } = true;

    /// <summary>Episodes rolled out with one set of weights before an update.</summary>
    public int EpisodesPerUpdate { get; init; } = 4;

    /// <summary>Decision intervals per training episode (16,384 messages each by default).</summary>
    public int EpisodeIntervals { get; init; } = 48;
}

public sealed record PartitionerTrainerOptions
{
    public int Episodes { get; init; } = 480;
    public int Seed { get; init; } = 7;
    public IReadOnlyList<string> Workloads { get; init; } = PartitioningWorkload.Names;
    public IReadOnlyList<int> PartitionCounts { get; init; } = [64, 128];
    public PpoOptions Ppo { get; init; } = new();
    public FanOutReward Reward { get; init; } = new();
    public PartitionerOptions Partitioning { get; init; } = new() { Strategy = PartitionStrategy.Learned };
}

/// <summary>One PPO update: what the episodes behind it earned and how the losses stood.</summary>
public sealed record PpoUpdateRecord(int Update, int Episodes, double MeanReward, double MeanHottestOverMean, double MeanSpread, double PolicyLoss,
    double ValueLoss, double Entropy);

/// <summary>
/// Trains the fan-out policy with PPO (clipped objective, GAE advantages, value baseline, entropy bonus, Adam over
/// shuffled minibatches) in <see cref="PartitioningSimulator"/>. Each episode draws a workload and a partition count,
/// rolls out a stochastic copy of the current network through a real FanOutPartitioner, and scores each decision on
/// the interval it acted on (<see cref="FanOutReward"/>). Everything is seeded: the same options give the same weights.
/// </summary>
public sealed class PpoTrainer(PartitionerTrainerOptions options)
{
    public PartitionerTrainerOptions Options { get; } = options;

    /// <summary>Decisions (transitions) the network learned from.</summary>
    public long TrainingSamples { get; private set; }

    public (FanOutNetwork Network, IReadOnlyList<PpoUpdateRecord> Curve, double Seconds) Train(Action<PpoUpdateRecord>? progress = null)
    {
        var watch = Stopwatch.StartNew();
        var ppo = Options.Ppo;
        torch.random.manual_seed(Options.Seed);
        var network = new FanOutNetwork(ppo.Hidden);
        using var optimizer = optim.Adam(network.parameters(), ppo.LearningRate);
        var episodes = new Random(Options.Seed);
        var shuffle = new Random(Options.Seed + 1);
        var curve = new List<PpoUpdateRecord>();
        int done = 0;
        while (done < Options.Episodes)
        {
            var sampler = new SamplingFanOutPolicy(new FanOutInference(network.ExportWeights(), ppo.Hidden), new Random(episodes.Next()));
            var batch = new List<Transition>();
            double hottest = 0, spread = 0;
            int intervals = 0, inUpdate = Math.Min(ppo.EpisodesPerUpdate, Options.Episodes - done);
            for (int e = 0; e < inUpdate; e++)
            {
                var workload = PartitioningWorkload.Get(Options.Workloads[episodes.Next(Options.Workloads.Count)]);
                int partitions = Options.PartitionCounts[episodes.Next(Options.PartitionCounts.Count)];
                var (transitions, meanHottest, meanSpread) = RollOut(sampler, workload, partitions, episodes.Next());
                batch.AddRange(transitions);
                hottest += meanHottest * transitions.Count;
                spread += meanSpread * transitions.Count;
                intervals += transitions.Count;
            }
            done += inUpdate;
            TrainingSamples += batch.Count;
            var (policyLoss, valueLoss, entropy) = Update(network, optimizer, batch, shuffle);
            var record = new PpoUpdateRecord(curve.Count, done, Math.Round(batch.Average(t => t.Reward), 4), Math.Round(hottest / intervals, 4),
                Math.Round(spread / intervals, 4), Math.Round(policyLoss, 5), Math.Round(valueLoss, 5), Math.Round(entropy, 4));
            curve.Add(record);
            progress?.Invoke(record);
        }
        return (network, curve, watch.Elapsed.TotalSeconds);
    }

    /// <summary>One episode; returns its decisions with rewards and GAE advantages, and its mean hottest/mean and spread.</summary>
    private (List<Transition> Transitions, double MeanHottest, double MeanSpread) RollOut(SamplingFanOutPolicy sampler, PartitioningWorkload workload,
        int partitions, int seed)
    {
        var simulator = new PartitioningSimulator(new PartitioningSimulatorOptions { PartitionCount = partitions });
        sampler.Steps.Clear();
        long messages = (long)Options.Ppo.EpisodeIntervals * Options.Partitioning.DecisionIntervalMessages;
        var result = simulator.Run(Options.Partitioning, sampler, workload, messages, seed);
        var steps = sampler.Steps;
        // The decision at the end of interval i acts on interval i + 1; the last one acts on nothing we saw and only
        // lends its value estimate to bootstrap the truncated episode.
        int count = Math.Min(steps.Count, result.Intervals.Count) - 1;
        var transitions = new List<Transition>(count);
        for (int i = 0; i < count; i++)
        {
            var next = result.Intervals[i + 1];
            var reward = Options.Reward.Reward(next.HottestOverMean, steps[i].Spread, next.LatencyIntervals);
            transitions.Add(new Transition(steps[i], (float)reward));
        }
        double advantage = 0;
        for (int i = count - 1; i >= 0; i--)
        {
            double nextValue = steps[i + 1].Value;
            double delta = transitions[i].Reward + (Options.Ppo.Gamma * nextValue) - steps[i].Value;
            advantage = delta + (Options.Ppo.Gamma * Options.Ppo.GaeLambda * advantage);
            transitions[i].Advantage = (float)advantage;
            transitions[i].Return = (float)(advantage + steps[i].Value);
        }
        return (transitions, result.Intervals.Skip(1).Average(i => i.HottestOverMean), steps.Take(count).Average(s => s.Spread));
    }

    private (double PolicyLoss, double ValueLoss, double Entropy) Update(FanOutNetwork network, optim.Optimizer optimizer, List<Transition> batch,
        Random shuffle)
    {
        var ppo = Options.Ppo;
        int k = FanOutSchema.Slots, f = FanOutSchema.FeatureCount, a = FanOutSchema.ActionCount;
        // Per slot: the decision's advantage with the other slots' spread charges taken out (see PpoOptions.PerSlotRatio).
        var slotAdvantages = batch.Select(t => Enumerable.Range(0, k).Select(slot => ppo.PerSlotRatio
            ? t.Advantage + (Options.Reward.SpreadWeight * (t.Step.Spread - t.Step.SlotSpreads[slot]))
            : t.Advantage).ToArray()).ToArray();
        var occupied = batch.SelectMany((t, i) => slotAdvantages[i].Where((_, slot) => t.Step.SlotMask[slot] > 0)).ToArray();
        double meanAdvantage = occupied.Average();
        double spreadAdvantage = Math.Sqrt(occupied.Average(x => Math.Pow(x - meanAdvantage, 2))) + 1e-8;
        double policySum = 0, valueSum = 0, entropySum = 0;
        int minibatches = 0;
        var order = Enumerable.Range(0, batch.Count).ToArray();
        for (int epoch = 0; epoch < ppo.Epochs; epoch++)
        {
            shuffle.Shuffle(order);
            for (int start = 0; start < order.Length; start += ppo.MinibatchSize)
            {
                var indexes = order.AsSpan(start, Math.Min(ppo.MinibatchSize, order.Length - start)).ToArray();
                var picked = indexes.Select(i => batch[i]).ToArray();
                int b = picked.Length;
                using var scope = NewDisposeScope();
                var features = tensor(picked.SelectMany(t => t.Step.Features).ToArray()).reshape(b, k, f);
                var slotMask = tensor(picked.SelectMany(t => t.Step.SlotMask).ToArray()).reshape(b, k);
                var allowed = tensor(picked.SelectMany(t => Enumerable.Range(0, a).Select(x => FanOutSchema.Allowed(x, t.Step.PartitionCount))).ToArray())
                    .reshape(b, 1, a);
                var actions = tensor(picked.SelectMany(t => t.Step.Actions.Select(x => (long)x)).ToArray()).reshape(b, k, 1);
                var oldSlotLogProb = tensor(picked.SelectMany(t => t.Step.SlotLogProbs).ToArray()).reshape(b, k);
                var advantage = tensor(indexes.SelectMany(i => slotAdvantages[i].Select(x => (float)((x - meanAdvantage) / spreadAdvantage))).ToArray()).reshape(b, k);
                var returns = tensor(picked.Select(t => t.Return).ToArray());

                var (logits, value) = network.forward(features, slotMask);
                var logProbs = logits.masked_fill(allowed.logical_not(), -1e9f).log_softmax(-1);
                var slotLogProb = logProbs.gather(-1, actions).squeeze(-1) * slotMask;
                var slotEntropy = -(logProbs.exp() * logProbs).sum(-1);
                var entropy = ((slotEntropy * slotMask).sum(1) / slotMask.sum(1).clamp_min(1)).mean();
                Tensor policyLoss;
                if (ppo.PerSlotRatio)
                {
                    var ratio = (slotLogProb - oldSlotLogProb).exp();
                    var clipped = torch.min(ratio * advantage, ratio.clamp(1 - ppo.Clip, 1 + ppo.Clip) * advantage) * slotMask;
                    policyLoss = -(clipped.sum(1) / slotMask.sum(1).clamp_min(1)).mean();
                }
                else
                {
                    // Without per-slot advantages every column of advantage is the decision's own.
                    var joint = advantage[.., 0];
                    var ratio = (slotLogProb.sum(1) - oldSlotLogProb.sum(1)).exp();
                    policyLoss = -torch.min(ratio * joint, ratio.clamp(1 - ppo.Clip, 1 + ppo.Clip) * joint).mean();
                }
                // Huber, not squared error: hash-like intervals early in training give rewards of -20 and worse.
                var valueLoss = nn.functional.smooth_l1_loss(value, returns);
                var loss = policyLoss + (ppo.ValueWeight * valueLoss) - (ppo.EntropyWeight * entropy);
                optimizer.zero_grad();
                loss.backward();
                nn.utils.clip_grad_norm_(network.parameters(), ppo.MaxGradNorm);
                optimizer.step();
                policySum += policyLoss.item<float>();
                valueSum += valueLoss.item<float>();
                entropySum += entropy.item<float>();
                minibatches++;
            }
        }
        return (policySum / minibatches, valueSum / minibatches, entropySum / minibatches);
    }

    /// <summary>What the rollout policy saw and did at one decision.</summary>
    /// <param name="SlotLogProbs">Log-probability of each slot's sampled action (0 for empty slots); the action's is their sum.</param>
    /// <param name="SlotSpreads">Each slot's part of the reward's spread term; <paramref name="Spread"/> is their sum.</param>
    internal sealed record Step(float[] Features, float[] SlotMask, int[] Actions, int PartitionCount, float[] SlotLogProbs, float Value,
        double[] SlotSpreads, double Spread);

    private sealed class Transition(Step step, float reward)
    {
        public Step Step { get; } = step;
        public float Reward { get; } = reward;
        public float Advantage { get; set; }
        public float Return { get; set; }
    }

    /// <summary>The rollout's hands on the partitioner: samples each slot's fan-out from the network and records the step.</summary>
    internal sealed class SamplingFanOutPolicy(FanOutInference network, Random random) : IFanOutPolicy
    {
        private readonly float[] _logits = new float[FanOutSchema.Slots * FanOutSchema.ActionCount];

        public List<Step> Steps { get; } = [];

        public string Name => "ppo-sampling";

        public void Decide(FanOutState state, Span<int> fanOuts)
        {
            var features = new float[FanOutSchema.Slots * FanOutSchema.FeatureCount];
            var slotMask = new float[FanOutSchema.Slots];
            var actions = new int[FanOutSchema.Slots];
            var logProbs = new float[FanOutSchema.Slots];
            var spreads = new double[FanOutSchema.Slots];
            FanOutSchema.Observe(state, features, slotMask);
            float value = network.Forward(features, slotMask, state.PartitionCount, _logits);
            for (int slot = 0; slot < state.HeavyKeys.Count; slot++)
            {
                var row = _logits.AsSpan(slot * FanOutSchema.ActionCount, FanOutSchema.ActionCount);
                float max = float.NegativeInfinity;
                foreach (var logit in row)
                    max = Math.Max(max, logit);
                double total = 0;
                foreach (var logit in row)
                    total += Math.Exp(logit - max);
                double draw = random.NextDouble() * total, cumulative = 0;
                int action = 0;
                for (; action < row.Length - 1; action++)
                {
                    cumulative += Math.Exp(row[action] - max);
                    if (draw < cumulative)
                        break;
                }
                // A masked action has zero probability and can only be reached by rounding at the end: step back to an allowed one.
                while (!FanOutSchema.Allowed(action, state.PartitionCount))
                    action--;
                actions[slot] = action;
                logProbs[slot] = (float)(row[action] - max - Math.Log(total));
                fanOuts[slot] = FanOutSchema.Actions[action];
                spreads[slot] = FanOutReward.SpreadOf(state.HeavyKeys[slot].Share, fanOuts[slot], state.PartitionCount);
            }
            Steps.Add(new Step(features, slotMask, actions, state.PartitionCount, logProbs, value, spreads, spreads.Sum()));
        }
    }
}
