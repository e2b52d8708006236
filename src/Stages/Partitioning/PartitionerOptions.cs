namespace EventPipeline.Stages.Partitioning;

/// <summary>How a producer partitions: the strategy and its knobs, each checked when set.</summary>
public sealed record PartitionerOptions
{
    public PartitionStrategy Strategy
    {
        get;
        init => field = Enum.IsDefined(value) ? value : throw new ArgumentOutOfRangeException(nameof(Strategy), value, "unknown strategy");
    } = PartitionStrategy.Hash;

    /// <summary>Bounded-load: how far above the mean a partition may go before keys overflow to the next one.</summary>
    public double BoundedLoadEpsilon
    {
        get;
        init => field = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(BoundedLoadEpsilon), value, "must be above 0");
    } = 0.25;

    /// <summary>D-Choices: the balance a heavy key's fan-out is sized for.</summary>
    public double DChoicesEpsilon
    {
        get;
        init => field = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(DChoicesEpsilon), value, "must be above 0");
    } = 0.1;

    /// <summary>How quickly the producer's partition-load estimate forgets (messages until a count halves).</summary>
    public int HalfLifeMessages
    {
        get;
        init => field = value >= 1024 ? value : throw new ArgumentOutOfRangeException(nameof(HalfLifeMessages), value, "must be at least 1024");
    } = 65_536;

    /// <summary>D-Choices and the learned policy: messages between two decisions.</summary>
    public int DecisionIntervalMessages
    {
        get;
        init => field = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(DecisionIntervalMessages), value, "must be at least 1");
    } = 16_384;

    /// <summary>D-Choices and the learned policy: how many of the heaviest keys may get more than two partitions.</summary>
    public int HeavyKeys
    {
        get;
        init => field = value is >= 1 and <= 256 ? value : throw new ArgumentOutOfRangeException(nameof(HeavyKeys), value, "must be between 1 and 256");
    } = 16;

    /// <summary>The learned policy decides but does not act (every key keeps PKG's two choices); its decisions are reported.</summary>
    public bool Shadow { get; init; }

    /// <summary>
    /// The partitioner for a topic of <paramref name="partitionCount"/> partitions. <paramref name="learnedPolicy"/> is
    /// required for <see cref="PartitionStrategy.Learned"/> and ignored otherwise.
    /// </summary>
    public ProducerPartitioner Create(int partitionCount, IFanOutPolicy? learnedPolicy = null, Action<Exception>? onFallback = null) => Strategy switch
    {
        PartitionStrategy.Hash => new HashPartitioner(partitionCount, HalfLifeMessages),
        PartitionStrategy.RoundRobin => new RoundRobinPartitioner(partitionCount, HalfLifeMessages),
        PartitionStrategy.PartialKeyGrouping => new PartialKeyGroupingPartitioner(partitionCount, HalfLifeMessages),
        PartitionStrategy.BoundedLoad => new BoundedLoadPartitioner(partitionCount, BoundedLoadEpsilon, HalfLifeMessages),
        PartitionStrategy.DChoices => FanOut(partitionCount, new DChoicesPolicy(DChoicesEpsilon), shadow: false, onFallback),
        PartitionStrategy.Learned => FanOut(partitionCount,
            learnedPolicy ?? throw new ArgumentNullException(nameof(learnedPolicy), "the learned strategy needs its policy"), Shadow, onFallback),
        _ => throw new ArgumentOutOfRangeException(nameof(Strategy), Strategy, "unknown strategy"),
    };

    private FanOutPartitioner FanOut(int partitionCount, IFanOutPolicy policy, bool shadow, Action<Exception>? onFallback) =>
        new(partitionCount, policy, Strategy, shadow, HeavyKeys, DecisionIntervalMessages, HalfLifeMessages, onFallback);
}
