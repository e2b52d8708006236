namespace EventPipeline.Host.Configuration;

public sealed class PipelineSection
{
    /// <summary>Bounded capacity of each message queue between stages.</summary>
    public int QueueCapacity { get; set; } = 8192;

    /// <summary>How long SIGTERM waits for in-flight batches before committing only what is durable.</summary>
    public int DrainTimeoutSeconds { get; set; } = 30;
}
