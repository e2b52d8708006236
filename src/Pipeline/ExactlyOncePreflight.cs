using Confluent.Kafka;
using EventPipeline.Host.Configuration;
using EventPipeline.Stages.ClickHouse;
using EventPipeline.Stages.ExactlyOnce;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Host;

/// <summary>
/// The worker's start-up checks for Delivery:Guarantee=ExactlyOnce: the table deduplicates blocks and carries the
/// Kafka position of each row, the ledger topic is usable, and the deduplication window is wide enough.
/// </summary>
/// <param name="logger">The worker's logger: these checks report as part of its start.</param>
internal sealed class ExactlyOncePreflight(PipelineSettings settings, ILoggerFactory loggerFactory, ILogger logger)
{
    /// <summary>
    /// Checks that the table can give exactly-once (it must deduplicate identical blocks, and its rows must carry their
    /// Kafka partition and offset so that two different messages never make identical blocks) and that the ledger
    /// topic is usable.
    /// </summary>
    public async Task<BatchLedger> PrepareAsync(ClickHouseHttpClient client, TableMapping mapping, CancellationToken stop)
    {
        var table = $"{settings.ClickHouse.Database}.{settings.ClickHouse.Table}";
        var engine = (await client.QueryAsync(
            $"SELECT engine FROM system.tables WHERE database = {ClickHouseLiteral.Quote(settings.ClickHouse.Database)} AND name = {ClickHouseLiteral.Quote(settings.ClickHouse.Table)} FORMAT TabSeparated",
            stop).ConfigureAwait(false)).Trim();
        if (!(engine.StartsWith("Replicated", StringComparison.Ordinal) && engine.EndsWith("MergeTree", StringComparison.Ordinal)))
            throw new ConfigurationException($"Delivery:Guarantee=ExactlyOnce needs a table that deduplicates inserted blocks (a Replicated*MergeTree); {table} is {engine}. Use AtLeastOnce or a replicated table.");
        var sources = mapping.Columns.Select(c => c.Source).ToHashSet();
        if (!sources.Contains(ColumnSource.KafkaPartition) || !sources.Contains(ColumnSource.KafkaOffset))
            throw new ConfigurationException($"Delivery:Guarantee=ExactlyOnce needs columns kafka_partition and kafka_offset in {table}: without them two different batches with the same events would look identical and deduplication would drop one");
        var ledger = new BatchLedger(settings.ToLedgerOptions(), loggerFactory.CreateLogger<BatchLedger>());
        int partitions;
        try
        {
            partitions = ledger.Validate(TimeSpan.FromSeconds(30));
        }
        catch (Exception ex) when (ex is InvalidOperationException or KafkaException)
        {
            ledger.Dispose();
            throw new ConfigurationException(ex.Message, ex);
        }
        var window = await DeduplicationWindowAsync(client, stop).ConfigureAwait(false);
        var wanted = MinimumDeduplicationWindowPerPartition * partitions;
        if (window < wanted)
            logger.LogWarning(
                "{Table} keeps the hashes of its last {Window} blocks (replicated_deduplication_window); with {Partitions} partitions a batch " +
                "replayed after a long recovery may be older than that and be inserted twice. Use at least {Wanted}.",
                table, window, partitions, wanted);
        logger.LogInformation("Delivery guarantee: exactly-once into {Table} ({Engine} block deduplication, window {Window} blocks, batch ledger {Ledger})",
            table, engine, window, settings.LedgerTopic);
        return ledger;
    }

    /// <summary>
    /// Every insert makes one block per partition of the table it touches, each exactly-once batch holds one Kafka
    /// partition, and a replay can come tens of seconds after the original (failure detection, restart, group
    /// join): 100 blocks per Kafka partition covers that at one flush per second with a couple of table partitions.
    /// </summary>
    private const int MinimumDeduplicationWindowPerPartition = 100;

    private async Task<long> DeduplicationWindowAsync(ClickHouseHttpClient client, CancellationToken stop)
    {
        var engineFull = await client.QueryAsync(
            $"SELECT engine_full FROM system.tables WHERE database = {ClickHouseLiteral.Quote(settings.ClickHouse.Database)} AND name = {ClickHouseLiteral.Quote(settings.ClickHouse.Table)} FORMAT TabSeparated",
            stop).ConfigureAwait(false);
        var match = System.Text.RegularExpressions.Regex.Match(engineFull, @"replicated_deduplication_window\s*=\s*(\d+)");
        if (match.Success)
            return long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var serverDefault = await client.QueryAsync(
            "SELECT value FROM system.merge_tree_settings WHERE name = 'replicated_deduplication_window' FORMAT TabSeparated", stop).ConfigureAwait(false);
        return long.TryParse(serverDefault.Trim(), System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : 0;
    }
}
