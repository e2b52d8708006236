namespace EventPipeline.Host.Configuration;

public sealed class PipelineSection
{
    /// <summary>Bounded capacity of each message queue between stages (held as chunks of up to <see cref="MaxChunkSize"/>).</summary>
    public int QueueCapacity { get; set; } = 8192;

    /// <summary>Messages handed between stages in one step, at most.</summary>
    public int MaxChunkSize { get; set; } = EventPipeline.Stages.KafkaSourceOptions.DefaultMaxChunkSize;

    /// <summary>Each queue's capacity in chunks: QueueCapacity messages, and at least two chunks so that one can be filled while one waits.</summary>
    public int QueueChunks => Math.Max(2, (QueueCapacity + MaxChunkSize - 1) / MaxChunkSize);

    /// <summary>How long SIGTERM waits for in-flight batches before committing only what is durable.</summary>
    public int DrainTimeoutSeconds { get; set; } = 30;
}
