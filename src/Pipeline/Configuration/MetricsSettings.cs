namespace EventPipeline.Host.Configuration;

public sealed class MetricsSettings
{
    /// <summary>Port for /metrics, /healthz and /readyz; 0 turns the endpoint off.</summary>
    public int Port { get; set; } = 9464;

    public string Host { get; set; } = "0.0.0.0";
}
