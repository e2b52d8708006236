using EventPipeline.Host.Configuration;
using EventPipeline.Stages.ClickHouse;
using EventPipeline.Stages.Flow;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Host;

/// <summary>
/// Plans the worker's inserts at start: checks ClickHouse:Settings against the server and maps the target table's
/// columns, waiting for ClickHouse while it is not up yet.
/// </summary>
/// <param name="logger">The worker's logger: the plan is reported as part of its start.</param>
internal sealed class TablePlanner(PipelineSettings settings, ILogger logger)
{
    /// <summary>Refuses ClickHouse:Settings the server does not know, or takes as another value than the one given.</summary>
    private async Task CheckInsertSettingsAsync(ClickHouseHttpClient client, CancellationToken stop)
    {
        var configured = settings.ClickHouse.Settings;
        if (configured.Count == 0)
            return;
        var unknown = await client.UnknownSettingsAsync(configured.Keys, stop).ConfigureAwait(false);
        if (unknown.Count > 0)
            throw new ConfigurationException(
                $"{string.Join(", ", unknown.Select(n => $"ClickHouse:Settings:{n}"))}: this ClickHouse server has no such setting (system.settings)");
        IReadOnlyDictionary<string, string> effective;
        try
        {
            effective = await client.EffectiveInsertSettingsAsync(configured.Keys, stop).ConfigureAwait(false);
        }
        catch (ClickHouseServerException ex) when (ClickHouseErrors.Classify(ex) != ClickHouseErrorClass.Transient)
        {
            throw new ConfigurationException($"ClickHouse:Settings: the server refuses {string.Join(", ", configured.Select(p => $"{p.Key}={p.Value}"))}: {ex.Message}", ex);
        }
        foreach (var (name, value) in configured)
        {
            if (effective.TryGetValue(name, out var taken) && !SameSettingValue(value, taken))
                throw new ConfigurationException($"ClickHouse:Settings:{name}={value} is taken by the server as {taken}; give a value it can read");
        }
    }

    private static bool SameSettingValue(string given, string taken)
    {
        static string Normal(string v) => v.Trim().ToLowerInvariant() switch
        {
            "true" => "1",
            "false" => "0",
            var other => decimal.TryParse(other, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var number)
                ? number.ToString(System.Globalization.CultureInfo.InvariantCulture)
                : other,
        };
        return Normal(given) == Normal(taken);
    }

    /// <summary>
    /// Reads the target table's columns and plans the inserts, waiting for ClickHouse if it is not up yet. A table that
    /// cannot hold the events, settings the server does not know, and answers no retry can change (refused
    /// credentials, a URL that is not ClickHouse's) stop the worker at once with the key named.
    /// </summary>
    public async Task<TableMapping?> LoadMappingAsync(ClickHouseHttpClient client, CancellationToken stop)
    {
        var table = $"{settings.ClickHouse.Database}.{settings.ClickHouse.Table}";
        var backoff = new Backoff(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10));
        while (true)
        {
            try
            {
                await CheckInsertSettingsAsync(client, stop).ConfigureAwait(false);
                var schema = await client.DescribeTableAsync(settings.ClickHouse.Table, stop).ConfigureAwait(false);
                TableMapping mapping;
                try
                {
                    mapping = TableMapping.Create(schema);
                }
                catch (Exception ex) when (ex is NotSupportedException or FormatException or ArgumentException)
                {
                    throw new ConfigurationException($"ClickHouse:Table '{table}' cannot be written: {ex.Message}", ex);
                }
                var problems = mapping.ProblemsHoldingEvents();
                if (problems.Count > 0)
                    throw new ConfigurationException($"ClickHouse:Table '{table}' cannot hold the events: {string.Join("; ", problems)}");
                logger.LogInformation("Inserting into {Table}: {Columns}", table, mapping.InsertColumnList);
                return mapping;
            }
            catch (ClickHouseServerException ex) when (ex.Code is 60 or 81)
            {
                throw new ConfigurationException($"ClickHouse:Table '{table}' does not exist: {ex.Message}", ex);
            }
            catch (ClickHouseServerException ex) when (ex.Code is 192 or 193 or 194 or 195 or 516 or 497)
            {
                throw new ConfigurationException($"ClickHouse:Username/ClickHouse:Password were refused: {ex.Message}", ex);
            }
            catch (ClickHouseServerException ex) when (ClickHouseErrors.Classify(ex) == ClickHouseErrorClass.Permanent)
            {
                throw new ConfigurationException($"ClickHouse:Url '{settings.ClickHouse.Url}' refused the worker's first queries, and retrying cannot help: {ex.Message}", ex);
            }
            catch (Exception ex) when (ex is HttpRequestException or ClickHouseServerException or TaskCanceledException && !stop.IsCancellationRequested)
            {
                logger.LogWarning("ClickHouse at {Url} not available yet ({Reason}); retrying", settings.ClickHouse.Url, ex.Message);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return null;
            }
            try
            {
                await backoff.DelayAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }
    }
}
