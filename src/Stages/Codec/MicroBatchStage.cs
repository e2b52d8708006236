using System.Diagnostics;
using System.Threading.Tasks.Dataflow;
using EventPipeline.Stages.Flow;

namespace EventPipeline.Stages.Codec;

/// <summary>What both codec stages are configured with; each stage's record names its own configuration keys.</summary>
public abstract record MicroBatchOptions
{
    public const int MaxBatchSizeLimit = 65_536;

    public static readonly TimeSpan MaxBatchDelayLimit = TimeSpan.FromSeconds(10);

    /// <summary>Chunks of messages waiting for the stage; a full stage refuses more, which pauses the producer before it.</summary>
    public int BoundedCapacity { get; init; } = 16;

    /// <summary>Messages coded in one call (one forward pass of the model), at most.</summary>
    public int MaxBatchSize { get; init; } = 4096;

    /// <summary>How long the first message of a batch waits for more before the batch is coded anyway.</summary>
    public TimeSpan MaxBatchDelay { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>The configuration keys (or command-line options) that set the three values, for validation messages.</summary>
    protected abstract (string BoundedCapacity, string MaxBatchSize, string MaxBatchDelay) Keys { get; }

    public virtual void Validate()
    {
        var keys = Keys;
        if (BoundedCapacity < 1)
            throw new ArgumentOutOfRangeException(keys.BoundedCapacity, BoundedCapacity, "must be at least 1");
        if (MaxBatchSize is < 1 or > MaxBatchSizeLimit)
            throw new ArgumentOutOfRangeException(keys.MaxBatchSize, MaxBatchSize, $"must be between 1 and {MaxBatchSizeLimit}");
        if (MaxBatchDelay < TimeSpan.Zero || MaxBatchDelay > MaxBatchDelayLimit)
            throw new ArgumentOutOfRangeException(keys.MaxBatchDelay, MaxBatchDelay, $"must be between 0 and {MaxBatchDelayLimit.TotalMilliseconds} ms");
    }
}

/// <summary>
/// What both codec stages share: a bounded input of message chunks, micro-batches cut by size and by time (a chunk is
/// split where a batch fills), and one loop that hands every message on in the order it arrived (exactly-once forms
/// offset ranges from that order). A model codes a batch in one forward pass at about the cost of one message, so
/// batching is where the codec's throughput comes from; the delay bounds what a lone message pays for it.
/// </summary>
public abstract class MicroBatchStage<TOutput>
{
    private static readonly TimeSpan Nap = TimeSpan.FromMilliseconds(1);

    private readonly BufferBlock<PipelineMessage[]> _input;
    private readonly MicroBatchOptions _options;
    private readonly Prometheus.Histogram.Child _batchSize;
    private readonly Prometheus.Histogram.Child _duration;

    // The chunk a full batch stopped in: the next batch starts with its remaining messages.
    private PipelineMessage[]? _carried;
    private int _carriedFrom;

    protected MicroBatchStage(string stageName, MicroBatchOptions options, PipelineMetrics metrics)
    {
        options.Validate();
        _options = options;
        _input = new BufferBlock<PipelineMessage[]>(new DataflowBlockOptions { BoundedCapacity = options.BoundedCapacity });
        _batchSize = metrics.CodecBatchSize.WithLabels(stageName);
        _duration = metrics.StageDuration.WithLabels(stageName);
    }

    /// <summary>Bounded: when full, Post returns false and SendAsync waits (the Kafka source pauses its partitions).</summary>
    public ITargetBlock<PipelineMessage[]> Input => _input;

    /// <summary>Chunks waiting for the stage.</summary>
    public int QueuedChunks => _input.Count;

    /// <summary>Completes once the input completed and the last batch was handed on; faults with the stage.</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    /// <summary>Starts the loop; <paramref name="next"/> is completed (or faulted) after the last batch.</summary>
    /// <remarks>
    /// The loop owns a thread of its own: the model is not thread-safe, and libtorch keeps per-thread state (an OpenMP
    /// team per calling thread), so forward passes hopping across thread-pool threads cost far more than on one thread.
    /// </remarks>
    public void Start(ITargetBlock<TOutput> next) =>
        Completion = Task.Factory.StartNew(() => Run(next), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Codes one micro-batch: one output per message, in the order of <paramref name="batch"/>.</summary>
    protected abstract IReadOnlyList<TOutput> Process(IReadOnlyList<PipelineMessage> batch);

    private void Run(ITargetBlock<TOutput> next)
    {
        var batch = new List<PipelineMessage>(Math.Min(_options.MaxBatchSize, 1024));
        try
        {
            while (_carried is not null || _input.OutputAvailableAsync().GetAwaiter().GetResult())
            {
                Fill(batch);
                var started = Stopwatch.GetTimestamp();
                var outputs = Process(batch);
                _duration.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
                _batchSize.Observe(batch.Count);
                foreach (var output in outputs)
                {
                    if (!next.Post(output) && !next.SendAsync(output).GetAwaiter().GetResult())
                        throw new DownstreamStoppedException("The next stage stopped accepting messages");
                }
                batch.Clear();
            }
            _input.Completion.GetAwaiter().GetResult(); // rethrows an upstream fault
            next.Complete();
        }
        catch (Exception ex)
        {
            next.Fault(ex);
            throw;
        }
    }

    /// <summary>Takes what is queued, then waits for more until the batch is full or the first message waited MaxBatchDelay.</summary>
    /// <remarks>
    /// It naps in steps of at most a millisecond rather than waking on every arrival: a wake-up per arrival (a thread
    /// hop on a busy 2-core box) cost more CPU than decoding a message.
    /// </remarks>
    private void Fill(List<PipelineMessage> batch)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(_options.MaxBatchDelay.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            while (batch.Count < _options.MaxBatchSize && TakeChunk(out var chunk, out var from))
            {
                var take = Math.Min(chunk.Length - from, _options.MaxBatchSize - batch.Count);
                batch.AddRange(new ArraySegment<PipelineMessage>(chunk, from, take));
                if (from + take < chunk.Length)
                    (_carried, _carriedFrom) = (chunk, from + take);
            }
            if (batch.Count >= _options.MaxBatchSize || _input.Completion.IsCompleted)
                return;
            var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
            if (remaining <= TimeSpan.Zero)
                return;
            Thread.Sleep(remaining < Nap ? remaining : Nap);
        }
    }

    private bool TakeChunk(out PipelineMessage[] chunk, out int from)
    {
        if (_carried is { } carried)
        {
            (chunk, from, _carried) = (carried, _carriedFrom, null);
            return true;
        }
        from = 0;
        return _input.TryReceive(out chunk!);
    }
}
