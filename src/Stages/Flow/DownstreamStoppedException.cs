namespace EventPipeline.Stages.Flow;

/// <summary>
/// A stage could not hand on its output because the next stage stopped (it failed on its own account). The failure
/// to report is the next stage's, not this one.
/// </summary>
public sealed class DownstreamStoppedException(string message, Exception? inner = null) : InvalidOperationException(message, inner);
