using EventPipeline.Stages.Batching;

namespace EventPipeline.Models.Batching;

public sealed record SimulatorOptions
{
    /// <summary>Batch:MaxLatencyMs: the oldest row never waits longer than this for its batch to close.</summary>
    public double MaxLatencySeconds { get; init; } = 1.0;
    public int MinSize { get; init; } = 1;
    public int MaxSize { get; init; } = 200_000;
    public int MaxConcurrentInserts { get; init; } = 1;
    public double TickSeconds { get; init; } = 0.01;

    /// <summary>Relative noise on arrivals per tick (0 = exactly the profile's rate).</summary>
    public double ArrivalJitter { get; init; } = 0.2;
    public int Seed { get; init; } = 1;
}

/// <summary>What happened since the previous <see cref="BatchingSimulator.TakeInterval"/>.</summary>
public readonly record struct IntervalStats(double Seconds, long Arrived, long Inserted, int Inserts, double P95Seconds, double OldestWaitingSeconds);

/// <summary>
/// A discrete-time model of BatchStage + ClickHouseSinkStage: events arrive per the load profile, wait in the
/// buffer, a batch closes when it reaches the policy's size or its oldest row reaches MaxLatency, and up to
/// MaxConcurrentInserts inserts run, each taking the calibrated cost model's time (plus congestion). A closed
/// batch that finds every insert slot busy waits (one at most, like the sink's bounded input); further rows stay
/// in the buffer. Each row's latency is its insert's completion time minus its arrival time.
/// </summary>
public sealed class BatchingSimulator
{
    private sealed record Chunk(double Arrival, long Count);

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
    private readonly List<Insert> _running = [];
    private readonly Queue<Insert> _pending = new();
    private readonly LatencyHistogram _interval = new();
    private double _carry;
    private double _rateEstimate;
    private double _lastInsertSeconds;
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

    /// <summary>Called for every group of rows that completes: (arrival time, completion time, rows).</summary>
    public Action<double, double, long>? OnRowsCompleted { get; set; }

    public void Advance(double seconds)
    {
        var end = Now + seconds - 1e-9;
        while (Now < end)
            Tick();
    }

    public IntervalStats TakeInterval()
    {
        var oldest = _buffer.First is { } first ? Now - first.Value.Arrival : 0;
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
            _buffer.AddLast(new Chunk(Now, arrivals));
            Waiting += arrivals;
            Arrived += arrivals;
            _intervalArrived += arrivals;
        }
        _rateEstimate += (arrivals / dt - _rateEstimate) * Math.Min(1, dt / 1.0); // ~1 s smoothing, like BatchStage's estimate
        for (var flushes = 0; flushes < 16 && TryFlush(); flushes++)
        {
        }
        StartPending(Now);
        Now += dt;
    }

    private bool TryFlush()
    {
        if (Waiting == 0 || _pending.Count >= 1 && _running.Count >= _options.MaxConcurrentInserts)
            return false;
        _target ??= Math.Clamp(_policy.NextBatchSize(new BatchPolicyInput((int)Math.Min(int.MaxValue, Waiting), _rateEstimate, _lastInsertSeconds)),
            Math.Max(1, _options.MinSize), _options.MaxSize);
        var oldestAge = Now - _buffer.First!.Value.Arrival;
        if (Waiting < _target && oldestAge < _options.MaxLatencySeconds - 1e-9)
            return false;
        var rows = Math.Min(Waiting, _target.Value);
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
                var latency = insert.Finish - chunk.Arrival;
                Latency.Add(latency, chunk.Count);
                _interval.Add(latency, chunk.Count);
                OnRowsCompleted?.Invoke(chunk.Arrival, insert.Finish, chunk.Count);
            }
            InFlight -= insert.Rows;
            Inserted += insert.Rows;
            _intervalInserted += insert.Rows;
            Inserts++;
            _intervalInserts++;
            _lastInsertSeconds = insert.Finish - insert.Started;
            var bytes = (long)(insert.Rows * _cost.BytesPerRow);
            _policy.OnInserted(new BatchInsertOutcome((int)insert.Rows, bytes, _lastInsertSeconds, true, insert.Finish - insert.Chunks[0].Arrival));
            StartPending(insert.Finish);
        }
    }
}
