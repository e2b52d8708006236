using System.CommandLine;
using EventPipeline.Host.Configuration;
using EventPipeline.Stages;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Host.Commands;

internal static class RunCommand
{
    public static Command Create()
    {
        var command = new Command("run", "Run the worker: consume Kafka, insert into ClickHouse, until SIGTERM/SIGINT. " +
            "Configuration: appsettings.json, PIPELINE_* environment variables, --Section:Key=value arguments.")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        command.SetAction((parseResult, _) => RunAsync(parseResult.UnmatchedTokens));
        return command;
    }

    public static async Task<int> RunAsync(IReadOnlyList<string> configurationArgs)
    {
        var configuration = PipelineSettings.BuildConfiguration(configurationArgs);
        using var loggerFactory = Logging.Create(configuration);
        var logger = loggerFactory.CreateLogger("pipeline");
        PipelineSettings settings;
        try
        {
            settings = PipelineSettings.Load(configuration);
        }
        catch (ConfigurationException ex)
        {
            await Console.Error.WriteLineAsync($"configuration error: {ex.Message}").ConfigureAwait(false);
            return 2;
        }

        if (configurationArgs.Any(a => a.StartsWith("--ClickHouse:Password", StringComparison.OrdinalIgnoreCase) &&
                                       !a.StartsWith("--ClickHouse:PasswordFile", StringComparison.OrdinalIgnoreCase)))
            logger.LogWarning("ClickHouse:Password was given on the command line, where every user of this machine can read it (ps, /proc); " +
                "use ClickHouse:PasswordFile or the environment variable PIPELINE_ClickHouse__Password instead");

        using var shutdown = new ShutdownSignal();
        var metrics = new PipelineMetrics();
        var worker = new PipelineWorker(settings, metrics, loggerFactory);
        MetricsEndpoint? endpoint = null;
        try
        {
            if (settings.Metrics.Port > 0)
            {
                endpoint = await MetricsEndpoint.StartAsync(settings.Metrics.Host, settings.Metrics.Port, metrics.Registry,
                    worker.Health, loggerFactory, shutdown.Token, worker.EndToEndLatency).ConfigureAwait(false);
                logger.LogInformation("Metrics on http://{Host}:{Port}/metrics", settings.Metrics.Host, endpoint.Port);
            }
            await worker.RunAsync(shutdown.Token).ConfigureAwait(false);
            return 0;
        }
        catch (ConfigurationException ex)
        {
            await Console.Error.WriteLineAsync($"configuration error: {ex.Message}").ConfigureAwait(false);
            return 2;
        }
        catch (StageFailedException)
        {
            return 1; // the worker logged the cause when the stage failed and again when it stopped
        }
        catch (Exception ex)
        {
            logger.LogCritical(ex, "Worker failed");
            return 1;
        }
        finally
        {
            if (endpoint is not null)
                await endpoint.DisposeAsync().ConfigureAwait(false);
        }
    }
}
