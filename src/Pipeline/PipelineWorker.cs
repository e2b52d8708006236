using Confluent.Kafka;
using EventPipeline.Host.Configuration;
using EventPipeline.Stages;
using EventPipeline.Stages.Batching;
using EventPipeline.Stages.ClickHouse;
using EventPipeline.Stages.Events;
using EventPipeline.Stages.ExactlyOnce;
using EventPipeline.Stages.Flow;
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
    private readonly IBatchSizePolicy _policy;
    private KafkaSourceStage? _source;
    private ClickHouseSinkStage? _sink;
    private DeadLetterStage? _deadLetter;
    private OffsetCommitStage? _commits;
    private CodecDecodeStage? _codec;
    private DecodeStage? _decode;
    private BatchingStage? _batch;
    private long _consumedBefore, _insertedBefore, _deadLetteredBefore;

    public PipelineWorker(PipelineSettings settings, PipelineMetrics metrics, ILoggerFactory loggerFactory,
        IBatchSizePolicy? policy = null)
    {
        settings.Validate();
        _settings = settings;
        _metrics = metrics;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<PipelineWorker>();
        _policy = policy ?? settings.CreateBatchPolicy(metrics, loggerFactory.CreateLogger("EventPipeline.BatchPolicy"));
        Health = new HealthState(NotPlanned, NotReadyNow);
        // Registered once: a re-planned run replaces the stages these read.
        metrics.Registry.AddBeforeCollectCallback(ExportQueueDepths);
    }

    /// <summary>Totals over every run of this worker (a table change re-plans and starts the stages again).</summary>
    public long Consumed => Interlocked.Read(ref _consumedBefore) + (_source?.Consumed ?? 0);
    public long Inserted => Interlocked.Read(ref _insertedBefore) + (_sink?.RowsInserted ?? 0);
    public long DeadLettered => Interlocked.Read(ref _deadLetteredBefore) + (_deadLetter?.Acknowledged ?? 0);
    public long InFlight => _commits?.InFlight ?? 0;
    public bool IsPaused => _source?.IsPaused ?? false;
    public int AssignedPartitions => _commits?.Leases.Count ?? 0;

    /// <summary>Every acknowledged row's produce->acknowledged latency, exact to 1% (GET /latency).</summary>
    public EndToEndLatencyHistogram EndToEndLatency { get; } = new();

    /// <summary>Times the worker re-planned its inserts because the table's columns changed.</summary>
    public int Replans { get; private set; }

    /// <summary>
    /// Alive: no stage has failed. Ready: it knows its table, its source topic exists and its inserts are not failing.
    /// </summary>
    /// <remarks>
    /// Having no partitions is not "unready": with more replicas than partitions some pods idle by design, and an
    /// unready pod would block rolling updates. A source topic that does not exist is.
    /// </remarks>
    public HealthState Health { get; }

    public bool IsHealthy => Health.IsHealthy;
    public bool IsReady => Health.IsReady;

    private const string NotPlanned = "the target table's columns are not read yet";

    private string? NotReadyNow() =>
        _source is not { } source ? "the Kafka source has not started"
        : source.TopicMissing ? $"the source topic {_settings.Kafka.Topic} does not exist"
        : _sink is not { } sink ? "the ClickHouse sink has not started"
        : sink.IsFailing ? "inserts into ClickHouse are failing"
        : null;

    /// <summary>
    /// Runs until <paramref name="stop"/> fires, then drains for at most Pipeline:DrainTimeoutSeconds. When the target
    /// table's columns change, drains the same way, plans the inserts for the new columns and starts again (a change
    /// the events cannot be written into stops it with a <see cref="ConfigurationException"/> naming the column).
    /// </summary>
    /// <exception cref="StageFailedException">A stage failed (a permanent ClickHouse error, say); the worker drained
    /// for at most Pipeline:DrainTimeoutSeconds, committed what is durable and stopped.</exception>
    public async Task RunAsync(CancellationToken stop)
    {
        _logger.LogInformation("Starting: {Settings}", _settings.Describe());
        var sinkOptions = _settings.ToSinkOptions();
        using var client = new ClickHouseHttpClient(sinkOptions.Url, sinkOptions.Database, sinkOptions.Username, sinkOptions.Password, sinkOptions.RequestTimeout,
            sinkOptions.Settings);
        while (true)
        {
            var mapping = await new TablePlanner(_settings, _logger).LoadMappingAsync(client, stop).ConfigureAwait(false);
            if (mapping is null)
                return; // stopped before ClickHouse ever answered: nothing consumed, nothing to drain
            try
            {
                await RunPlannedAsync(client, sinkOptions, mapping, stop).ConfigureAwait(false);
                return;
            }
            catch (StageFailedException ex) when (ex.InnerException is TableSchemaChangedException changed && !stop.IsCancellationRequested)
            {
                Replans++;
                _logger.LogWarning("{Change} Planning the inserts for the new columns and starting again; the messages not yet inserted are read again.",
                    changed.Message);
            }
            Health.Recover();
            Health.SetNotReady(NotPlanned);
            Interlocked.Add(ref _consumedBefore, _source?.Consumed ?? 0);
            Interlocked.Add(ref _insertedBefore, _sink?.RowsInserted ?? 0);
            Interlocked.Add(ref _deadLetteredBefore, _deadLetter?.Acknowledged ?? 0);
        }
    }

    private async Task RunPlannedAsync(ClickHouseHttpClient client, ClickHouseSinkOptions sinkOptions, TableMapping mapping, CancellationToken stop)
    {
        using var ledger = _settings.ExactlyOnce ? await new ExactlyOncePreflight(_settings, _loggerFactory, _logger).PrepareAsync(client, mapping, stop).ConfigureAwait(false) : null;
        _metrics.DeliveryGuarantee.WithLabels(ledger is null ? "at_least_once" : "exactly_once").Set(1);
        Health.SetReady();

        // Stopping and a failed stage both drain, for a bounded time: a pod that never exits is never restarted.
        using var stopOrFault = CancellationTokenSource.CreateLinkedTokenSource(stop);
        using var drainTimeout = new CancellationTokenSource();
        var drainLimit = TimeSpan.FromSeconds(_settings.Pipeline.DrainTimeoutSeconds);
        using var onStop = stopOrFault.Token.Register(() => drainTimeout.CancelAfter(drainLimit));
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
        var decode = _decode = new DecodeStage(_settings.ToDecodeOptions(), decoder, _metrics);
        BatchingStage batch = _batch = ledger is null
            ? new BatchStage(_settings.ToBatchOptions(), new EventRowEncoder(mapping), _policy, _metrics)
            : new PartitionBatchStage(_settings.ToBatchOptions(), new EventRowEncoder(mapping), _policy, ledger, _metrics,
                _loggerFactory.CreateLogger<PartitionBatchStage>());
        var sink = _sink = new ClickHouseSinkStage(sinkOptions, client, mapping, _metrics, _loggerFactory.CreateLogger<ClickHouseSinkStage>(), EndToEndLatency);
        using var deadLetter = _deadLetter = new DeadLetterStage(_settings.ToDeadLetterOptions(), _metrics, _loggerFactory.CreateLogger<DeadLetterStage>());

        await using var telemetry = string.IsNullOrWhiteSpace(_settings.Telemetry.Table)
            ? null
            : new TelemetryWriter(new TelemetryOptions(_settings.Telemetry.Table,
                    string.IsNullOrWhiteSpace(_settings.Telemetry.Worker) ? Environment.MachineName : _settings.Telemetry.Worker),
                client, _metrics, _loggerFactory.CreateLogger<TelemetryWriter>());

        var codec = _codec = StartCodecStage(decode);
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

        // A stage that faults would otherwise leave the source paused forever behind a full queue: stop consuming,
        // report unhealthy, drain what can be drained, and end (the orchestrator restarts the pod; what was not
        // inserted is read again).
        (string Name, Task Completion)[] stages =
        [
            (ClickHouseSinkStage.StageName, sink.Block.Completion), (DeadLetterStage.StageName, deadLetter.Block.Completion),
            (CodecDecodeStage.StageName, codec?.Completion ?? Task.CompletedTask), (BatchStage.StageName, batch.Completion),
        ];
        foreach (var (name, completion) in stages)
        {
            _ = completion.ContinueWith(task =>
            {
                var fault = task.Exception!.GetBaseException();
                // A stage whose next stage stopped only echoes that stage's failure, which is reported on its own.
                if (fault is not (TableSchemaChangedException or DownstreamStoppedException))
                {
                    Health.Fail($"stage {name} failed: {fault.Message}");
                    _logger.LogError("Stage {Stage} failed: {Reason}. Stopping consumption and draining for at most {Seconds} s.",
                        name, fault.Message, drainLimit.TotalSeconds);
                }
                if (!stopOrFault.IsCancellationRequested)
                    stopOrFault.Cancel();
            }, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }

        try
        {
            await _source.RunAsync(codec?.Input ?? decode.Block, () => Task.WhenAll(sink.Block.Completion, deadLetter.Completion), stopOrFault.Token, abort).ConfigureAwait(false);
            var faults = stages.Where(s => s.Completion.IsFaulted).Select(s => s.Completion.Exception!.GetBaseException()).ToList();
            if (faults.Count > 0)
                throw new StageFailedException(faults.FirstOrDefault(f => f is not DownstreamStoppedException) ?? faults[0]);
            _logger.LogInformation("Stopped: consumed {Consumed}, inserted {Inserted}, dead-lettered {DeadLettered}, left uncommitted {Uncommitted}",
                Consumed, Inserted, DeadLettered, _source.UncommittedAtClose);
        }
        catch (StageFailedException ex) when (ex.InnerException is TableSchemaChangedException)
        {
            throw;
        }
        catch (Exception ex)
        {
            Health.Fail($"the pipeline failed: {ex.Message}");
            _logger.LogCritical(ex, "The pipeline failed");
            throw;
        }
    }

    private void ExportQueueDepths()
    {
        if (_codec is { } codec)
            _metrics.StageQueueDepth.WithLabels(CodecDecodeStage.StageName).Set(codec.QueuedChunks);
        if (_decode is { } decode)
            _metrics.StageQueueDepth.WithLabels(DecodeStage.StageName).Set(decode.Block.InputCount);
        if (_batch is { } batch)
            _metrics.StageQueueDepth.WithLabels(BatchStage.StageName).Set(batch.QueuedChunks);
        if (_sink is { } sink)
            _metrics.StageQueueDepth.WithLabels(ClickHouseSinkStage.StageName).Set(sink.Block.InputCount);
        if (_deadLetter is { } deadLetter)
            _metrics.StageQueueDepth.WithLabels(DeadLetterStage.StageName).Set(deadLetter.Block.InputCount);
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
}

/// <summary>A stage of the pipeline failed; the worker drained for a bounded time and stopped. The cause is the inner exception.</summary>
public sealed class StageFailedException(Exception cause) : Exception($"A stage failed: {cause.Message}", cause);
