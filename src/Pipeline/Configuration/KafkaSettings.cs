namespace EventPipeline.Host.Configuration;

public sealed class KafkaSettings
{
    public string BootstrapServers { get; set; } = "";
    public string Topic { get; set; } = "";
    public string GroupId { get; set; } = "event-pipeline";

    /// <summary>earliest or latest: where a consumer group without committed offsets starts.</summary>
    public string AutoOffsetReset { get; set; } = "earliest";

    public int CommitIntervalMs { get; set; } = 1000;

    /// <summary>Passed to librdkafka as is (security.protocol, sasl.*, ssl.*, fetch tuning...).</summary>
    public Dictionary<string, string> Properties { get; set; } = new(StringComparer.Ordinal);
}
