namespace EventPipeline.Host.Configuration;

public sealed class CodecSettings
{
    /// <summary>
    /// Learned-codec artifact directories, comma-separated (like Kafka:BootstrapServers): every model whose envelopes
    /// this worker may meet, e.g. the old and the new one during a roll-out. Empty turns the codec stage off.
    /// </summary>
    public string Models { get; set; } = "";

    /// <summary>Envelopes decoded in one forward pass, at most.</summary>
    public int MaxBatchSize { get; set; } = 4096;

    /// <summary>How long the first envelope of a batch waits for more.</summary>
    public int MaxBatchDelayMs { get; set; } = 5;

    /// <summary>libtorch threads for the codec's forward passes (0 = libtorch's default, one per core).</summary>
    public int TorchThreads { get; set; } = 1;

    public IReadOnlyList<string> ModelDirectories =>
        Models.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
