namespace EventPipeline.Stages.Batching;

/// <summary>Always the same size: the baseline every adaptive policy has to beat.</summary>
public sealed class StaticBatchSizePolicy : IBatchSizePolicy
{
    public StaticBatchSizePolicy(int size)
    {
        if (size < 1)
            throw new ArgumentOutOfRangeException("Batch:Size", size, "must be at least 1");
        Size = size;
    }

    public int Size { get; }
    public string Name => "static";

    public int NextBatchSize(in BatchPolicyInput input) => Size;

    public void OnInserted(in BatchInsertOutcome outcome)
    {
    }
}
