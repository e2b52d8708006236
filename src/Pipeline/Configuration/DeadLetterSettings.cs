namespace EventPipeline.Host.Configuration;

public sealed class DeadLetterSettings
{
    /// <summary>Defaults to "&lt;Kafka:Topic&gt;.dlq".</summary>
    public string Topic { get; set; } = "";

    public Dictionary<string, string> Properties { get; set; } = new(StringComparer.Ordinal);
}
