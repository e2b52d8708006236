namespace EventPipeline.Models.Partitioning;

/// <summary>
/// A consumer group as the partitioning simulator sees it: <see cref="Workers"/> workers, partitions assigned by range
/// (the first n/W to worker 0, ...: Kafka's range assignor for one topic), each worker serving up to
/// <see cref="CapacityPerWorker"/> messages per decision interval, shared max-min fairly among its partitions'
/// backlogs (a partition with less waiting gets all of it, the rest split what remains). What a skewed placement costs
/// downstream: a worker whose partitions get more than its capacity builds a backlog, i.e. latency.
/// </summary>
public sealed class ConsumerGroupModel
{
    private readonly double[] _backlog;
    private readonly double[] _workerBacklog;
    private readonly double[] _fairScratch;

    public ConsumerGroupModel(int partitionCount, int workers, double capacityPerWorker)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, workers);
        if (!(capacityPerWorker > 0))
            throw new ArgumentOutOfRangeException(nameof(capacityPerWorker), capacityPerWorker, "must be above 0");
        Workers = workers;
        CapacityPerWorker = capacityPerWorker;
        _backlog = new double[partitionCount];
        _workerBacklog = new double[workers];
        _fairScratch = new double[partitionCount];
    }

    public int Workers { get; }

    public double CapacityPerWorker { get; }

    public int PartitionCount => _backlog.Length;

    /// <summary>Messages waiting per worker after the last interval.</summary>
    public ReadOnlySpan<double> WorkerBacklog => _workerBacklog;

    /// <summary>Partitions [first, end) of <paramref name="worker"/>: range assignment, earlier workers take the remainder.</summary>
    public (int First, int End) PartitionsOf(int worker)
    {
        int n = PartitionCount, w = Workers;
        int first = (worker * (n / w)) + Math.Min(worker, n % w);
        return (first, first + (n / w) + (worker < n % w ? 1 : 0));
    }

    /// <summary>
    /// Adds one interval's arrivals (per partition), serves each worker's capacity, and returns the latency proxy:
    /// the largest worker backlog over its capacity, i.e. how many intervals its newest message waits.
    /// </summary>
    public double Advance(ReadOnlySpan<long> arrivals)
    {
        double worst = 0;
        for (int worker = 0; worker < Workers; worker++)
        {
            var (first, end) = PartitionsOf(worker);
            var backlog = _backlog.AsSpan(first, end - first);
            for (int i = 0; i < backlog.Length; i++)
                backlog[i] += arrivals[first + i];
            ServeFairly(backlog, CapacityPerWorker);
            double left = 0;
            foreach (var waiting in backlog)
                left += waiting;
            _workerBacklog[worker] = left;
            worst = Math.Max(worst, left / CapacityPerWorker);
        }
        return worst;
    }

    /// <summary>Max-min fair service (water filling): the level L with sum(min(backlog, L)) = capacity is served.</summary>
    private void ServeFairly(Span<double> backlog, double capacity)
    {
        var sorted = _fairScratch.AsSpan(0, backlog.Length);
        backlog.CopyTo(sorted);
        sorted.Sort();
        double level = double.PositiveInfinity, remaining = capacity;
        for (int i = 0; i < sorted.Length; i++)
        {
            int sharing = sorted.Length - i;
            if (sorted[i] * sharing >= remaining)
            {
                level = remaining / sharing;
                break;
            }
            remaining -= sorted[i];
        }
        for (int i = 0; i < backlog.Length; i++)
            backlog[i] = Math.Max(0, backlog[i] - level);
    }
}
