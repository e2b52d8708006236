using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using EventPipeline.Stages;
using Prometheus;

namespace EventPipeline.Host;

/// <summary>
/// /metrics for Prometheus, /healthz for liveness and /readyz for readiness (200, or 503 with the reason), on one small
/// Kestrel server; and, for a worker, /latency: produce->acknowledged percentiles from its HDR histogram as JSON,
/// cumulative, or since the previous <c>?interval=true</c> call.
/// </summary>
public sealed class MetricsEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;

    private MetricsEndpoint(WebApplication app) => _app = app;

    public int Port { get; private set; }

    public static async Task<MetricsEndpoint> StartAsync(string host, int port, CollectorRegistry registry, HealthState health,
        ILoggerFactory loggerFactory, CancellationToken cancellationToken, EndToEndLatencyHistogram? latency = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.WebHost.UseUrls($"http://{host}:{port}");
        var app = builder.Build();
        app.MapMetrics("/metrics", registry);
        app.MapGet("/healthz", () => health.FailureReason is { } failure ? Results.Text($"failed: {failure}\n", statusCode: 503) : Results.Text("ok\n"));
        app.MapGet("/readyz", () => health.NotReadyReason is { } reason ? Results.Text($"not ready: {reason}\n", statusCode: 503) : Results.Text("ready\n"));
        if (latency is not null)
        {
            app.MapGet("/latency", (bool? interval) => Results.Json(interval == true ? latency.Interval() : latency.Cumulative()));
            app.MapPost("/latency/reset", () =>
            {
                latency.Reset();
                return Results.NoContent();
            });
        }
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var endpoint = new MetricsEndpoint(app);
        // With port 0 Kestrel picks one; the server's address feature knows which.
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        endpoint.Port = new Uri(addresses.First()).Port;
        return endpoint;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
