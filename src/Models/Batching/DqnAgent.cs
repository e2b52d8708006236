using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EventPipeline.Models.Batching;

public sealed record DqnOptions
{
    public int Hidden { get; init; } = 64;
    public double LearningRate { get; init; } = 1e-3;
    public double Gamma { get; init; } = 0.9;
    public int ReplayCapacity { get; init; } = 20_000;
    public int BatchSize { get; init; } = 64;
    public int WarmupTransitions { get; init; } = 256;
    public int TargetSyncSteps { get; init; } = 250;
}

/// <summary>
/// Double DQN: the online network picks the next action, the target network (a copy synced every
/// <see cref="DqnOptions.TargetSyncSteps"/> updates) values it, which curbs Q over-estimation. Experience goes
/// to a bounded replay ring (oldest overwritten). Not thread-safe; the runtime policy serialises calls.
/// </summary>
public sealed class DqnAgent : IDisposable
{
    private readonly DqnOptions _options;
    private readonly Sequential _online;
    private readonly Sequential _target;
    private readonly optim.Optimizer? _optimizer;
    private readonly ReplayBuffer? _replay;
    private readonly Random _random;
    private int _updates;

    public DqnAgent(DqnOptions options, int seed, bool forTraining)
    {
        _options = options;
        _random = new Random(seed);
        torch.random.manual_seed(seed);
        _online = CreateNetwork(options.Hidden);
        _target = CreateNetwork(options.Hidden);
        _target.load_state_dict(_online.state_dict());
        _target.eval();
        if (forTraining)
        {
            _optimizer = optim.Adam(_online.parameters(), options.LearningRate);
            _replay = new ReplayBuffer(options.ReplayCapacity, BatcherSchema.StateSize);
        }
        else
        {
            _online.eval();
        }
    }

    public int ReplayCount => _replay?.Count ?? 0;

    private static Sequential CreateNetwork(int hidden) => nn.Sequential(
        ("fc1", nn.Linear(BatcherSchema.StateSize, hidden)), ("relu1", nn.ReLU()),
        ("fc2", nn.Linear(hidden, hidden)), ("relu2", nn.ReLU()),
        ("out", nn.Linear(hidden, BatcherSchema.ActionCount)));

    public int Act(float[] state, double epsilon)
    {
        if (epsilon > 0 && _random.NextDouble() < epsilon)
            return _random.Next(BatcherSchema.ActionCount);
        return Greedy(state);
    }

    public int Greedy(float[] state)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var q = _online.forward(tensor(state).reshape(1, state.Length));
        return (int)q.argmax(1).item<long>();
    }

    public void Remember(float[] state, int action, float reward, float[] next, bool done) =>
        (_replay ?? throw new InvalidOperationException("agent was created for inference only")).Add(state, action, reward, next, done);

    /// <summary>One gradient step on a replay sample; returns the loss, or NaN while the buffer warms up.</summary>
    public double Learn()
    {
        if (_replay is null || _optimizer is null)
            throw new InvalidOperationException("agent was created for inference only");
        if (_replay.Count < Math.Max(_options.WarmupTransitions, _options.BatchSize))
            return double.NaN;
        using var scope = NewDisposeScope();
        var (s, a, r, s2, done) = _replay.Sample(_options.BatchSize, _random);
        var q = _online.forward(s).gather(1, a.unsqueeze(1)).squeeze(1);
        Tensor target;
        using (no_grad())
        {
            var nextAction = _online.forward(s2).argmax(1, keepdim: true);
            var nextQ = _target.forward(s2).gather(1, nextAction).squeeze(1);
            target = r + _options.Gamma * (1 - done) * nextQ;
        }
        var loss = nn.functional.smooth_l1_loss(q, target);
        _optimizer.zero_grad();
        loss.backward();
        _optimizer.step();
        if (++_updates % _options.TargetSyncSteps == 0)
            _target.load_state_dict(_online.state_dict());
        return loss.item<float>();
    }

    public void Save(string path) => _online.save(path);

    public static DqnAgent Load(string path, DqnOptions options)
    {
        var agent = new DqnAgent(options, seed: 0, forTraining: false);
        agent._online.load(path);
        agent._online.eval();
        return agent;
    }

    public void Dispose()
    {
        _optimizer?.Dispose();
        _online.Dispose();
        _target.Dispose();
    }

    private sealed class ReplayBuffer(int capacity, int stateSize)
    {
        private readonly float[] _states = new float[capacity * stateSize];
        private readonly float[] _next = new float[capacity * stateSize];
        private readonly long[] _actions = new long[capacity];
        private readonly float[] _rewards = new float[capacity];
        private readonly float[] _done = new float[capacity];
        private int _nextSlot;

        public int Count { get; private set; }

        public void Add(float[] state, int action, float reward, float[] next, bool done)
        {
            state.CopyTo(_states, _nextSlot * stateSize);
            next.CopyTo(_next, _nextSlot * stateSize);
            _actions[_nextSlot] = action;
            _rewards[_nextSlot] = reward;
            _done[_nextSlot] = done ? 1 : 0;
            _nextSlot = (_nextSlot + 1) % capacity;
            Count = Math.Min(capacity, Count + 1);
        }

        public (Tensor S, Tensor A, Tensor R, Tensor S2, Tensor Done) Sample(int n, Random random)
        {
            var s = new float[n * stateSize];
            var s2 = new float[n * stateSize];
            var a = new long[n];
            var r = new float[n];
            var d = new float[n];
            for (var i = 0; i < n; i++)
            {
                var j = random.Next(Count);
                Array.Copy(_states, j * stateSize, s, i * stateSize, stateSize);
                Array.Copy(_next, j * stateSize, s2, i * stateSize, stateSize);
                a[i] = _actions[j];
                r[i] = _rewards[j];
                d[i] = _done[j];
            }
            return (tensor(s).reshape(n, stateSize), tensor(a), tensor(r), tensor(s2).reshape(n, stateSize), tensor(d));
        }
    }
}
