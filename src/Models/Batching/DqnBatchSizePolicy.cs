using System.Diagnostics;
using EventPipeline.Stages.Batching;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using System.Runtime.InteropServices;

namespace EventPipeline.Models.Batching;

public sealed record DqnPolicyOptions
{
    /// <summary>Directory holding batcher-dqn.json and batcher-dqn.weights (Batch:ModelPath).</summary>
    public string ModelPath { get; init; } = "";
    public int MinSize { get; init; } = 1000;
    public int MaxSize { get; init; } = 200_000;

    /// <summary>Batch:Size: what the static fallback uses when the model is missing or invalid.</summary>
    public int FallbackSize { get; init; } = 100_000;

    /// <summary>The agent re-decides at most this often; it was trained with one decision per second.</summary>
    public double DecisionIntervalSeconds { get; init; } = 1.0;
}

/// <summary>
/// Asks the trained DQN for the next batch size, clamped to [MinSize, MaxSize]. A missing, unreadable or
/// schema-mismatched model is logged as an error and counted, and the static policy (Batch:Size) acts instead:
/// a bad model file must not stop the pipeline.
/// </summary>
public sealed class DqnBatchSizePolicy : IBatchSizePolicy, IDisposable
{
    private readonly object _gate = new();
    private readonly DqnPolicyOptions _options;
    private readonly IBatchPolicyMetrics? _metrics;
    private readonly Func<double> _now;
    private readonly Func<double> _dayFraction;
    private readonly double _sloSeconds;
    private readonly DqnAgent? _agent;
    private readonly StaticBatchSizePolicy _fallback;
    private readonly BatcherObservation _observation = new();
    private double _lastDecision = double.NegativeInfinity;
    private int _actionIndex;

    public DqnBatchSizePolicy(DqnPolicyOptions options, IBatchPolicyMetrics? metrics = null, ILogger? logger = null,
        Func<double>? now = null, Func<double>? dayFraction = null)
        : this(options, metrics, logger, now, dayFraction, preloaded: null)
    {
    }

    internal DqnBatchSizePolicy(DqnPolicyOptions options, IBatchPolicyMetrics? metrics, ILogger? logger, Func<double>? now,
        Func<double>? dayFraction, (DqnAgent Agent, double SloSeconds)? preloaded)
    {
        if (options.MinSize < 1 || options.MaxSize < options.MinSize)
            throw new ArgumentOutOfRangeException("Batch:MinSize", options.MinSize, "must be at least 1 and at most Batch:MaxSize");
        _options = options;
        _metrics = metrics;
        _now = now ?? (() => Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency);
        _dayFraction = dayFraction ?? (() => DateTime.UtcNow.TimeOfDay.TotalDays);
        _fallback = new StaticBatchSizePolicy(Math.Clamp(options.FallbackSize, options.MinSize, options.MaxSize));
        _actionIndex = BatcherSchema.NearestAction(_fallback.Size);
        logger ??= NullLogger.Instance;
        if (preloaded is { } p)
        {
            (_agent, _sloSeconds) = p;
            return;
        }
        try
        {
            var artifact = BatcherArtifact.Load(options.ModelPath);
            _agent = artifact.Agent;
            _sloSeconds = artifact.Metadata.Reward.SloSeconds;
            logger.LogInformation("Batch policy dqn: model {Version} (schema {Hash}) from {Path}", artifact.Metadata.Version, artifact.Metadata.SchemaHash, options.ModelPath);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or BatcherModelException or System.Text.Json.JsonException or ArgumentException or ExternalException)
        {
            LoadError = e.Message;
            _sloSeconds = new RewardOptions().SloSeconds;
            logger.LogError("Batch policy dqn: cannot use the model at '{Path}' ({Reason}); falling back to static batches of {Size}",
                options.ModelPath, e.Message, _fallback.Size);
            metrics?.FellBack("model_unusable");
        }
    }

    public string Name => "dqn";

    /// <summary>Why the model could not be used; null when it is in use.</summary>
    public string? LoadError { get; }

    public bool UsesModel => _agent is not null;

    public int NextBatchSize(in BatchPolicyInput input)
    {
        var size = Decide(input, "model");
        return size;
    }

    /// <summary>The agent's choice without metrics as the acting policy: for shadow mode.</summary>
    internal int Decide(in BatchPolicyInput input, string source)
    {
        if (_agent is null)
        {
            var size = _fallback.NextBatchSize(input);
            Record("fallback", size, 0);
            return size;
        }
        var started = Stopwatch.GetTimestamp();
        int chosen;
        lock (_gate)
        {
            _observation.Observe(input.QueuedMessages, input.ArrivalRatePerSecond, input.LastInsertSeconds);
            var now = _now();
            if (now - _lastDecision >= _options.DecisionIntervalSeconds - 1e-9)
            {
                _actionIndex = _agent.Greedy(_observation.Features(_dayFraction(), _actionIndex, _sloSeconds));
                _lastDecision = now;
            }
            chosen = Math.Clamp(BatcherSchema.Actions[_actionIndex], _options.MinSize, _options.MaxSize);
        }
        Record(source, chosen, Stopwatch.GetElapsedTime(started).TotalSeconds);
        return chosen;
    }

    private void Record(string source, int size, double seconds)
    {
        if (_metrics is null)
            return;
        _metrics.Decided(source, size);
        if (source != "fallback")
            _metrics.DecisionTook(seconds);
    }

    public void OnInserted(in BatchInsertOutcome outcome)
    {
        if (outcome.Succeeded)
            _observation.OnInserted(outcome.OldestRowAgeSeconds, outcome.InsertSeconds);
    }

    public void Dispose() => _agent?.Dispose();
}

/// <summary>
/// Shadow mode (Batch:Policy=dqn-shadow): <paramref name="acting"/> sizes the batches; the agent sees the same
/// inputs and outcomes, and what it would have chosen is exported (decision source "shadow") and logged at Debug.
/// </summary>
public sealed class ShadowBatchSizePolicy(IBatchSizePolicy acting, DqnBatchSizePolicy shadow, ILogger? logger = null) : IBatchSizePolicy, IDisposable
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    public string Name => $"{acting.Name}+dqn-shadow";

    public int NextBatchSize(in BatchPolicyInput input)
    {
        var size = acting.NextBatchSize(input);
        var wouldChoose = shadow.Decide(input, "shadow");
        _logger.LogDebug("Batch size {Size} from {Policy}; the dqn shadow would choose {Shadow}", size, acting.Name, wouldChoose);
        return size;
    }

    public void OnInserted(in BatchInsertOutcome outcome)
    {
        acting.OnInserted(outcome);
        shadow.OnInserted(outcome);
    }

    public void Dispose() => shadow.Dispose();
}
