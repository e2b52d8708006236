namespace EventPipeline.DevTools.LocalServers;

/// <summary>Where <see cref="DelayingTcpProxy"/> forwards to and how slow it makes the link; checked when the proxy starts.</summary>
public sealed record DelayingTcpProxyOptions
{
    public required string TargetHost { get; init; }

    public required int TargetPort { get; init; }

    /// <summary>One-way delay from the client to the target (the request).</summary>
    public TimeSpan UpstreamDelay { get; init; }

    /// <summary>One-way delay from the target to the client (the response).</summary>
    public TimeSpan DownstreamDelay { get; init; }

    /// <summary>Bytes per second each direction carries at most; null: no cap.</summary>
    public long? BytesPerSecond { get; init; }

    public void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(TargetHost, nameof(TargetHost));
        ArgumentOutOfRangeException.ThrowIfLessThan(TargetPort, 1, nameof(TargetPort));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(TargetPort, 65535, nameof(TargetPort));
        ArgumentOutOfRangeException.ThrowIfLessThan(UpstreamDelay, TimeSpan.Zero, nameof(UpstreamDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(DownstreamDelay, TimeSpan.Zero, nameof(DownstreamDelay));
        if (BytesPerSecond is { } rate)
            ArgumentOutOfRangeException.ThrowIfLessThan(rate, 1, nameof(BytesPerSecond));
    }
}
