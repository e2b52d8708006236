namespace EventPipeline.Host.Configuration;

public sealed class TelemetrySettings
{
    /// <summary>Table for one row per finished insert (deploy/clickhouse/telemetry.sql); empty turns telemetry off.</summary>
    public string Table { get; set; } = "";

    /// <summary>The worker column of telemetry rows; defaults to the host name (the pod name in Kubernetes).</summary>
    public string Worker { get; set; } = "";
}
