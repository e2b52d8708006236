using Confluent.Kafka;
using EventPipeline.Host.Configuration;
using EventPipeline.Stages;
using EventPipeline.Stages.Batching;
using EventPipeline.Stages.ClickHouse;
using EventPipeline.Stages.Events;
using EventPipeline.Stages.ExactlyOnce;
using EventPipeline.Stages.Telemetry;
using Microsoft.Extensions.Logging;

namespace EventPipeline.Host;

/// <summary>
/// The composition root of one worker: Kafka source -> (codec decode, when Codec:Models is set) -> decode -> batch ->
/// ClickHouse sink, with the dead-letter stage beside them and the offset commit stage behind the source. Runs until
/// the stop token fires, then drains.
/// </summary>
public sealed class PipelineWorker
{
    private readonly PipelineSettings _settings;
    private readonly PipelineMetrics _metrics;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly LatencyRecorder? _latency;
    private readonly IBatchSizePolicy _policy;
    private KafkaSourceStage? _source;
    private ClickHouseSinkStage? _sink;
    private DeadLetterStage? _deadLetter;
    private OffsetCommitStage? _commits;
    private volatile bool _schemaLoaded;

    public PipelineWorker(PipelineSettings settings, PipelineMetrics metrics, ILoggerFactory loggerFactory,
        LatencyRecorder? latency = null, IBatchSizePolicy? policy = null)
    {
        settings.Validate();
        _settings = settings;
        _metrics = metrics;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<PipelineWorker>();
        _latency = latency;
        _policy = policy ?? settings.CreateBatchPolicy(metrics, loggerFactory.CreateLogger("EventPipeline.BatchPolicy"));
    }

    public long Consumed => _source?.Consumed ?? 0;
    public long Inserted => _sink?.RowsInserted ?? 0;
    public long DeadLettered => _deadLetter?.Acknowledged ?? 0;
    public long InFlight => _commits?.InFlight ?? 0;
    public bool IsPaused => _source?.IsPaused ?? false;
    public int AssignedPartitions => _commits?.Leases.Count ?? 0;

    /// <summary>Alive: no stage has failed. Ready (below): it knows its table and its inserts are not failing.</summary>
    public bool IsHealthy { get; private set; } = true;

    /// <remarks>
    /// Having no partitions is not "unready": with more replicas than partitions some pods idle by design, and an
    /// unready pod would block rolling updates.
    /// </remarks>
    public bool IsReady => IsHealthy && _schemaLoaded && _source is not null && _sink is { IsFailing: false };

    /// <summary>Runs until <paramref name="stop"/> fires, then drains for at most Pipeline:DrainTimeoutSeconds.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        _logger.LogInformation("Starting: {Settings}", _settings.Describe());
        var sinkOptions = _settings.ToSinkOptions();
        var client = new ClickHouseHttpClient(sinkOptions.Url, sinkOptions.Database, sinkOptions.Username, sinkOptions.Password, sinkOptions.RequestTimeout,
            sinkOptions.Settings);
        var mapping = await LoadMappingAsync(client, stop).ConfigureAwait(false);
        if (mapping is null)
        {
            client.Dispose();
            return; // stopped before ClickHouse ever answered: nothing consumed, nothing to drain
        }
        using var ledger = _settings.ExactlyOnce ? await PrepareExactlyOnceAsync(client, mapping, stop).ConfigureAwait(false) : null;
        _metrics.DeliveryGuarantee.WithLabels(ledger is null ? "at_least_once" : "exactly_once").Set(1);
        _schemaLoaded = true;

        using var drainTimeout = new CancellationTokenSource();
        using var onStop = stop.Register(() => drainTimeout.CancelAfter(TimeSpan.FromSeconds(_settings.Pipeline.DrainTimeoutSeconds)));
        var abort = drainTimeout.Token;

        var decoder = new EventDecoder(new EventDecoderOptions
        {
            MaxMessageBytes = _settings.Decode.MaxMessageBytes,
            PropertyColumns = mapping.PropertyColumns,
            ProtobufSchemaIds = _settings.Decode.ParseProtobufSchemaIds(),
        });
        _commits = new OffsetCommitStage(_metrics, _loggerFactory.CreateLogger<OffsetCommitStage>());
        var recovery = ledger is null ? null : new LedgerRecovery(ledger, _loggerFactory.CreateLogger<LedgerRecovery>());
        _source = new KafkaSourceStage(_settings.ToSourceOptions(), _commits, _metrics, _loggerFactory.CreateLogger<KafkaSourceStage>(),
            recovery is null ? null : recovery.Prepare);
        var decode = new DecodeStage(_settings.ToDecodeOptions(), decoder, _metrics);
        BatchingStage batch = ledger is null
            ? new BatchStage(_settings.ToBatchOptions(), new EventRowEncoder(mapping), _policy, _metrics)
            : new PartitionBatchStage(_settings.ToBatchOptions(), new EventRowEncoder(mapping), _policy, ledger, _metrics,
                _loggerFactory.CreateLogger<PartitionBatchStage>());
        using var sink = _sink = new ClickHouseSinkStage(sinkOptions, client, mapping, _metrics, _loggerFactory.CreateLogger<ClickHouseSinkStage>(), _latency);
        using var deadLetter = _deadLetter = new DeadLetterStage(_settings.ToDeadLetterOptions(), _metrics, _loggerFactory.CreateLogger<DeadLetterStage>());

        // Declared after the sink so that it is disposed (and flushed) before the client the two share.
        await using var telemetry = string.IsNullOrWhiteSpace(_settings.Telemetry.Table)
            ? null
            : new TelemetryWriter(new TelemetryOptions(_settings.Telemetry.Table,
                    string.IsNullOrWhiteSpace(_settings.Telemetry.Worker) ? Environment.MachineName : _settings.Telemetry.Worker),
                client, _metrics, _loggerFactory.CreateLogger<TelemetryWriter>());

        var codec = StartCodecStage(decode);
        decode.LinkTo(batch.Input, ledger is null ? deadLetter.Block : null);
        batch.Start(sink.Block, deadLetter.Block);
        sink.Start(deadLetter.Block, outcome =>
        {
            batch.ReportInsert(outcome);
            telemetry?.Record(outcome, _policy.Name, batch.QueuedMessages, batch.ArrivalRatePerSecond, (int)_metrics.BatchTargetSize.Value);
        }, abort);
        // The dead-letter stage has three producers; it completes after all of them.
        _ = Task.WhenAll(decode.Block.Completion, batch.Completion, sink.Block.Completion)
            .ContinueWith(_ => deadLetter.Block.Complete(), TaskScheduler.Default);

        _metrics.Registry.AddBeforeCollectCallback(() =>
        {
            if (codec is not null)
                _metrics.StageQueueDepth.WithLabels(CodecDecodeStage.StageName).Set(codec.QueuedMessages);
            _metrics.StageQueueDepth.WithLabels(DecodeStage.StageName).Set(decode.Block.InputCount);
            _metrics.StageQueueDepth.WithLabels(BatchStage.StageName).Set(batch.QueuedMessages);
            _metrics.StageQueueDepth.WithLabels(ClickHouseSinkStage.StageName).Set(sink.Block.InputCount);
            _metrics.StageQueueDepth.WithLabels(DeadLetterStage.StageName).Set(deadLetter.Block.InputCount);
        });

        // A stage that faults would otherwise leave the source paused forever behind a full queue: stop consuming,
        // report unhealthy (the orchestrator restarts the pod) and let the uncommitted messages be read again.
        using var stopOrFault = CancellationTokenSource.CreateLinkedTokenSource(stop);
        Exception? stageFault = null;
        foreach (var completion in new[] { codec?.Completion ?? Task.CompletedTask, batch.Completion, sink.Block.Completion, deadLetter.Block.Completion })
        {
            _ = completion.ContinueWith(task =>
            {
                Interlocked.CompareExchange(ref stageFault, task.Exception!.GetBaseException(), null);
                IsHealthy = false;
                if (!stopOrFault.IsCancellationRequested)
                    stopOrFault.Cancel();
            }, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }

        try
        {
            await _source.RunAsync(codec?.Input ?? decode.Block, () => Task.WhenAll(sink.Block.Completion, deadLetter.Completion), stopOrFault.Token, abort).ConfigureAwait(false);
            if (stageFault is not null)
                throw new InvalidOperationException($"A stage failed: {stageFault.Message}", stageFault);
            _logger.LogInformation("Stopped: consumed {Consumed}, inserted {Inserted}, dead-lettered {DeadLettered}, uncommitted {InFlight}",
                Consumed, Inserted, DeadLettered, InFlight);
        }
        catch (Exception ex)
        {
            IsHealthy = false;
            _logger.LogCritical(ex, "The pipeline failed");
            throw;
        }
    }

    /// <summary>
    /// With Codec:Models, loads the models (their metadata was checked at start; weights that cannot be loaded stop the
    /// worker with exit code 2) and starts the codec stage in front of <paramref name="decode"/>.
    /// </summary>
    private CodecDecodeStage? StartCodecStage(DecodeStage decode)
    {
        var models = _settings.LoadCodecModels();
        if (models is null)
            return null;
        _logger.LogInformation("Learned codec on: decoding envelopes of models {ModelIds} from {Directories}",
            string.Join(", ", models.ModelIds.Order()), string.Join(", ", _settings.Codec.ModelDirectories));
        var codec = new CodecDecodeStage(_settings.ToCodecDecodeOptions(), models, _metrics);
        codec.Start(decode.Block);
        // Freed when the stage's loop has ended, never under it: after a drain timeout the loop may still be decoding.
        _ = codec.Completion.ContinueWith(_ => models.Dispose(), TaskScheduler.Default);
        return codec;
    }

    /// <summary>
    /// Checks that the table can give exactly-once (it must deduplicate identical blocks, and its rows must carry their
    /// Kafka partition and offset so that two different messages never make identical blocks) and that the ledger
    /// topic is usable.
    /// </summary>
    private async Task<BatchLedger> PrepareExactlyOnceAsync(ClickHouseHttpClient client, TableMapping mapping, CancellationToken stop)
    {
        var table = $"{_settings.ClickHouse.Database}.{_settings.ClickHouse.Table}";
        var engine = (await client.QueryAsync(
            $"SELECT engine FROM system.tables WHERE database = {ClickHouseLiteral.Quote(_settings.ClickHouse.Database)} AND name = {ClickHouseLiteral.Quote(_settings.ClickHouse.Table)} FORMAT TabSeparated",
            stop).ConfigureAwait(false)).Trim();
        if (!(engine.StartsWith("Replicated", StringComparison.Ordinal) && engine.EndsWith("MergeTree", StringComparison.Ordinal)))
            throw new ConfigurationException($"Delivery:Guarantee=ExactlyOnce needs a table that deduplicates inserted blocks (a Replicated*MergeTree); {table} is {engine}. Use AtLeastOnce or a replicated table.");
        var sources = mapping.Columns.Select(c => c.Source).ToHashSet();
        if (!sources.Contains(ColumnSource.KafkaPartition) || !sources.Contains(ColumnSource.KafkaOffset))
            throw new ConfigurationException($"Delivery:Guarantee=ExactlyOnce needs columns kafka_partition and kafka_offset in {table}: without them two different batches with the same events would look identical and deduplication would drop one");
        var ledger = new BatchLedger(_settings.ToLedgerOptions(), _loggerFactory.CreateLogger<BatchLedger>());
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
            _logger.LogWarning(
                "{Table} keeps the hashes of its last {Window} blocks (replicated_deduplication_window); with {Partitions} partitions a batch " +
                "replayed after a long recovery may be older than that and be inserted twice. Use at least {Wanted}.",
                table, window, partitions, wanted);
        _logger.LogInformation("Delivery guarantee: exactly-once into {Table} ({Engine} block deduplication, window {Window} blocks, batch ledger {Ledger})",
            table, engine, window, _settings.LedgerTopic);
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
            $"SELECT engine_full FROM system.tables WHERE database = {ClickHouseLiteral.Quote(_settings.ClickHouse.Database)} AND name = {ClickHouseLiteral.Quote(_settings.ClickHouse.Table)} FORMAT TabSeparated",
            stop).ConfigureAwait(false);
        var match = System.Text.RegularExpressions.Regex.Match(engineFull, @"replicated_deduplication_window\s*=\s*(\d+)");
        if (match.Success)
            return long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var serverDefault = await client.QueryAsync(
            "SELECT value FROM system.merge_tree_settings WHERE name = 'replicated_deduplication_window' FORMAT TabSeparated", stop).ConfigureAwait(false);
        return long.TryParse(serverDefault.Trim(), System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : 0;
    }

    /// <summary>Reads the target table's columns, waiting for ClickHouse if it is not up yet.</summary>
    private async Task<TableMapping?> LoadMappingAsync(ClickHouseHttpClient client, CancellationToken stop)
    {
        var delay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            try
            {
                var schema = await client.DescribeTableAsync(_settings.ClickHouse.Table, stop).ConfigureAwait(false);
                TableMapping mapping;
                try
                {
                    mapping = TableMapping.Create(schema);
                }
                catch (Exception ex) when (ex is NotSupportedException or FormatException or ArgumentException)
                {
                    throw new ConfigurationException($"ClickHouse:Table '{_settings.ClickHouse.Table}' cannot be written: {ex.Message}", ex);
                }
                _logger.LogInformation("Inserting into {Database}.{Table}: {Columns}", _settings.ClickHouse.Database, _settings.ClickHouse.Table, mapping.InsertColumnList);
                return mapping;
            }
            catch (ClickHouseServerException ex) when (ex.Code is 60 or 81)
            {
                throw new ConfigurationException($"ClickHouse:Table '{_settings.ClickHouse.Database}.{_settings.ClickHouse.Table}' does not exist: {ex.Message}", ex);
            }
            catch (ClickHouseServerException ex) when (ex.Code is 192 or 193 or 516 or 497)
            {
                throw new ConfigurationException($"ClickHouse:Username/ClickHouse:Password were refused: {ex.Message}", ex);
            }
            catch (Exception ex) when (ex is HttpRequestException or ClickHouseServerException or TaskCanceledException && !stop.IsCancellationRequested)
            {
                _logger.LogWarning("ClickHouse at {Url} not available yet ({Reason}); retrying", _settings.ClickHouse.Url, ex.Message);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return null;
            }
            try
            {
                await Task.Delay(delay, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
        }
    }
}
