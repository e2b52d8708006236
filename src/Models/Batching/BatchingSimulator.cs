using EventPipeline.Stages.Batching;

namespace EventPipeline.Models.Batching;

public sealed record SimulatorOptions
{
    /// <summary>Batch:MaxLatencyMs: the oldest row never waits longer than this for its batch to close.</summary>
    public double MaxLatencySeconds { get; init; } = 1.0;
    public int MinSize { get; init; } = 1;
    public int MaxSize { get; init; } = 200_000;

    /// <summary>Batch:MinInsertIntervalMs: no flush sooner than this after the previous one (the batch grows meanwhile); 0: off.</summary>
    public double MinInsertIntervalSeconds { get; init; }

    public int MaxConcurrentInserts { get; init; } = 1;
    public double TickSeconds { get; init; } = 0.01;

    /// <summary>Relative noise on arrivals per tick (0 = exactly the profile's rate).</summary>
    public double ArrivalJitter { get; init; } = 0.2;
    public int Seed { get; init; } = 1;

    /// <summary>What happens to a row between its Kafka timestamp and the batch buffer; null: it arrives there at once.</summary>
    public UpstreamModel? Upstream { get; init; }
}

/// <summary>
/// The path from the producer to the batch buffer (Kafka, fetch, decode) as the simulator sees it: every group of rows
/// produced together is delayed by <see cref="DelaySeconds"/> plus an exponentially distributed jitter of mean
/// <see cref="JitterMeanSeconds"/>, and at most <see cref="CapacityRowsPerSecond"/> rows a second pass (the CPU the
/// worker has for fetching and decoding). Every insert takes <see cref="InsertOverheadSeconds"/> of that time away
/// (encoding, HTTP, and on a shared machine the server's parsing and part writing on the same cores): more, smaller
/// inserts leave less capacity for the rows. Fitted to the real pipeline by <see cref="SimulatorCalibration"/>.
/// </summary>
public sealed record UpstreamModel(double DelaySeconds, double JitterMeanSeconds, double CapacityRowsPerSecond, double InsertOverheadSeconds = 0)
{
    public static UpstreamModel Instant { get; } = new(0, 0, double.PositiveInfinity);
}

/// <summary>What happened since the previous <see cref="BatchingSimulator.TakeInterval"/>.</summary>
public readonly record struct IntervalStats(double Seconds, long Arrived, long Inserted, int Inserts, double P95Seconds, double OldestWaitingSeconds);

/// <summary>
/// A discrete-time model of BatchStage + ClickHouseSinkStage: events arrive per the load profile, wait in the
/// buffer, a batch closes when it reaches the policy's size or its oldest row reaches MaxLatency, and up to
/// MaxConcurrentInserts inserts run, each taking the calibrated cost model's time (plus congestion). A closed
/// batch that finds every insert slot busy waits (one at most, like the sink's bounded input); further rows stay
/// in the buffer. Each row's latency is its insert's completion time minus the time it was produced: with an
/// <see cref="SimulatorOptions.Upstream"/> model, rows reach the buffer that much later than they were produced.
/// </summary>
public sealed class BatchingSimulator
{
    /// <param name="Produced">When the rows were produced (their Kafka timestamp).</param>
    /// <param name="Arrival">When they reached the batch buffer.</param>
    private sealed record Chunk(double Produced, double Arrival, long Count);

    private sealed class Insert
    {
        public required List<Chunk> Chunks { get; init; }
        public required long Rows { get; init; }
        public double Finish { get; set; }
        public double Started { get; set; }
    }

    private readonly InsertCostModel _cost;
    private readonly LoadProfile _profile;
    private readonly IBatchSizePolicy _policy;
    private readonly SimulatorOptions _options;
    private readonly Random _random;
    private readonly LinkedList<Chunk> _buffer = new();
    private readonly PriorityQueue<Chunk, double> _upstream = new(); // by the time a chunk may reach the buffer
    private readonly Random _upstreamRandom;
    private double _upstreamBudget;
    private readonly List<Insert> _running = [];
    private readonly Queue<Insert> _pending = new();
    private readonly LatencyHistogram _interval = new();
    private double _carry;
    private double _rateEstimate;
    private double _lastInsertSeconds;
    private double _earliestFlush;
    private int? _target;
    private long _intervalArrived, _intervalInserted;
    private int _intervalInserts;
    private double _intervalStart;

    public BatchingSimulator(InsertCostModel cost, LoadProfile profile, IBatchSizePolicy policy, SimulatorOptions options, bool allowUncalibrated = false)
    {
        if (!cost.Calibrated && !allowUncalibrated)
            throw new InvalidOperationException("the insert cost model is not calibrated: run `pipeline calibrate` and pass its file, or allow an uncalibrated run explicitly (--uncalibrated)");
        _cost = cost;
        _profile = profile;
        _policy = policy;
        _options = options;
        _random = new Random(options.Seed);
        _upstreamRandom = new Random(unchecked(options.Seed * 7919 + 17)); // its own stream: arrivals stay those of a run without an upstream model
    }

    public double Now { get; private set; }
    public long Arrived { get; private set; }
    public long Inserted { get; private set; }
    public long Waiting { get; private set; }
    public long InFlight { get; private set; }
    public int Inserts { get; private set; }
    public LatencyHistogram Latency { get; } = new();
    public double DayFraction => _profile.DayFraction(Now);
    public LoadProfile Profile => _profile;

    /// <summary>Called when a batch closes, before its insert starts: (time, rows).</summary>
    public Action<double, long>? OnBatchClosed { get; set; }

    /// <summary>Called for every group of rows that completes: (production time, completion time, rows).</summary>
    public Action<double, double, long>? OnRowsCompleted { get; set; }

    public void Advance(double seconds)
    {
        var end = Now + seconds - 1e-9;
        while (Now < end)
            Tick();
    }

    public IntervalStats TakeInterval()
    {
        var oldest = _buffer.First is { } first ? Now - first.Value.Produced : 0;
        var stats = new IntervalStats(Now - _intervalStart, _intervalArrived, _intervalInserted, _intervalInserts, _interval.Quantile(0.95), oldest);
        _interval.Clear();
        _intervalArrived = _intervalInserted = _intervalInserts = 0;
        _intervalStart = Now;
        return stats;
    }

    private void Tick()
    {
        var dt = _options.TickSeconds;
        Complete(Now);
        var expected = _profile.RatePerSecond(Now) * dt * (1 + _options.ArrivalJitter * (2 * _random.NextDouble() - 1)) + _carry;
        var arrivals = (long)Math.Floor(expected);
        _carry = expected - arrivals;
        if (arrivals > 0)
        {
            Arrived += arrivals;
            _intervalArrived += arrivals;
            if (_options.Upstream is { } upstream)
                _upstream.Enqueue(new Chunk(Now, Now, arrivals), Now + upstream.DelaySeconds + Exponential(upstream.JitterMeanSeconds));
            else
                _buffer.AddLast(new Chunk(Now, Now, arrivals));
        }
        var reached = _options.Upstream is { } model ? PassUpstream(model, dt) : arrivals;
        Waiting += reached;
        _rateEstimate += (reached / dt - _rateEstimate) * Math.Min(1, dt / 1.0); // ~1 s smoothing, like BatchStage's estimate of what reaches it
        for (var flushes = 0; flushes < 16 && TryFlush(); flushes++)
        {
        }
        StartPending(Now);
        Now += dt;
    }

    /// <summary>Moves the rows whose upstream delay is over into the buffer, at most the upstream's capacity per tick.</summary>
    private long PassUpstream(UpstreamModel model, double dt)
    {
        // Capacity not used in a tick is lost: a decoder with nothing to decode does not bank CPU for later.
        _upstreamBudget = Math.Min(_upstreamBudget + model.CapacityRowsPerSecond * dt, Math.Max(1, model.CapacityRowsPerSecond * dt) + 1);
        long passed = 0;
        while (_upstreamBudget >= 1 && _upstream.TryPeek(out var head, out var ready) && ready <= Now + 1e-9)
        {
            var take = (long)Math.Min(head.Count, Math.Floor(_upstreamBudget));
            _upstream.Dequeue();
            if (take < head.Count)
                _upstream.Enqueue(head with { Count = head.Count - take }, ready);
            _buffer.AddLast(head with { Arrival = Now, Count = take });
            _upstreamBudget -= take;
            passed += take;
        }
        return passed;
    }

    private double Exponential(double mean) => mean <= 0 ? 0 : -mean * Math.Log(1 - _upstreamRandom.NextDouble());

    private bool TryFlush()
    {
        if (Waiting == 0 || _pending.Count >= 1 && _running.Count >= _options.MaxConcurrentInserts)
            return false;
        _target ??= Math.Clamp(_policy.NextBatchSize(new BatchPolicyInput((int)Math.Min(int.MaxValue, Waiting), _rateEstimate, _lastInsertSeconds)),
            Math.Max(1, _options.MinSize), _options.MaxSize);
        var oldestAge = Now - _buffer.First!.Value.Arrival;
        if (Waiting < _target && oldestAge < _options.MaxLatencySeconds - 1e-9 || Now < _earliestFlush - 1e-9)
            return false;
        // Flushed the moment the insert interval ended: the batch was held back and took every row that came meanwhile,
        // up to MaxSize (BatchStage keeps filling while it waits); later, a batch closes at its target as usual.
        var heldBack = _options.MinInsertIntervalSeconds > 0 && Now - _earliestFlush < _options.TickSeconds - 1e-9;
        var rows = Math.Min(Waiting, heldBack ? Math.Max(_target.Value, _options.MaxSize) : _target.Value);
        if (_options.MinInsertIntervalSeconds > 0)
            _earliestFlush = Now + _options.MinInsertIntervalSeconds;
        OnBatchClosed?.Invoke(Now, rows);
        var taken = new List<Chunk>();
        var need = rows;
        while (need > 0)
        {
            var head = _buffer.First!.Value;
            _buffer.RemoveFirst();
            if (head.Count > need)
            {
                _buffer.AddFirst(head with { Count = head.Count - need });
                head = head with { Count = need };
            }
            taken.Add(head);
            need -= head.Count;
        }
        Waiting -= rows;
        InFlight += rows;
        _pending.Enqueue(new Insert { Chunks = taken, Rows = rows });
        _target = null;
        StartPending(Now);
        return true;
    }

    private void StartPending(double now)
    {
        while (_pending.Count > 0 && _running.Count < _options.MaxConcurrentInserts)
        {
            var insert = _pending.Dequeue();
            var bytes = (long)(insert.Rows * _cost.BytesPerRow);
            insert.Started = now;
            if (_options.Upstream is { CapacityRowsPerSecond: var capacity, InsertOverheadSeconds: > 0 and var overhead } && double.IsFinite(capacity))
                _upstreamBudget -= overhead * capacity; // repaid from the next ticks' capacity
            insert.Finish = now + _cost.Predict((int)insert.Rows, bytes, _running.Count + 1) + _profile.ExtraInsertLatency(now);
            _running.Add(insert);
        }
    }

    private void Complete(double now)
    {
        for (var i = 0; i < _running.Count; i++)
        {
            var insert = _running[i];
            if (insert.Finish > now + _options.TickSeconds * 1e-6)
                continue;
            _running.RemoveAt(i--);
            foreach (var chunk in insert.Chunks)
            {
                var latency = insert.Finish - chunk.Produced;
                Latency.Add(latency, chunk.Count);
                _interval.Add(latency, chunk.Count);
                OnRowsCompleted?.Invoke(chunk.Produced, insert.Finish, chunk.Count);
            }
            InFlight -= insert.Rows;
            Inserted += insert.Rows;
            _intervalInserted += insert.Rows;
            Inserts++;
            _intervalInserts++;
            _lastInsertSeconds = insert.Finish - insert.Started;
            var bytes = (long)(insert.Rows * _cost.BytesPerRow);
            _policy.OnInserted(new BatchInsertOutcome((int)insert.Rows, bytes, _lastInsertSeconds, true, insert.Finish - insert.Chunks.Min(c => c.Produced)));
            StartPending(insert.Finish);
        }
    }
}
