namespace EventPipeline.Stages.Batching;

/// <summary>
/// Where a batch size policy reports its decisions. A port, so that a policy living outside Stages (the learned one
/// in Models) reports through <see cref="PipelineMetrics"/> without depending on it; PipelineMetrics implements it.
/// </summary>
public interface IBatchPolicyMetrics
{
    /// <param name="source">model, shadow or fallback: which part of the policy chose the size.</param>
    void Decided(string source, int size);

    /// <summary>The time one model decision took (state plus forward pass); fallback decisions are not timed.</summary>
    void DecisionTook(double seconds);

    /// <param name="reason">Why the model cannot be used, such as model_unusable.</param>
    void FellBack(string reason);
}
