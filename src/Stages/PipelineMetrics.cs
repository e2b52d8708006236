using EventPipeline.Stages.Batching;
using Prometheus;

namespace EventPipeline.Stages;

/// <summary>
/// Every metric the pipeline exports, created on one registry. Production uses the default registry; tests and
/// benchmarks that run several pipelines in one process give each its own.
/// </summary>
public sealed class PipelineMetrics : IBatchPolicyMetrics
{
    /// <param name="insertsIntoClickHouse">
    /// False for a process without batch and ClickHouse stages (pipeline produce): the series of those stages, which
    /// a worker publishes at zero from its start, are then not published at all, so that alerts and panels about
    /// inserts do not take it for a worker that inserts nothing.
    /// </param>
    public PipelineMetrics(CollectorRegistry? registry = null, bool insertsIntoClickHouse = true)
    {
        Registry = registry ?? Metrics.DefaultRegistry;
        var factory = Metrics.WithCustomRegistry(Registry);
        var workerOnly = !insertsIntoClickHouse;

        StageMessages = factory.CreateCounter("pipeline_stage_messages_total",
            "Messages leaving a stage, by outcome (ok, dead_letter, dropped_revoked, retried...).",
            new CounterConfiguration { LabelNames = ["stage", "outcome"] });
        StageQueueDepth = factory.CreateGauge("pipeline_stage_queue_depth",
            "What waits in a stage's bounded input: chunks of messages (codec_decode, decode, batch), batches (sink), messages (dead_letter).", new GaugeConfiguration { LabelNames = ["stage"] });
        StageDuration = factory.CreateHistogram("pipeline_stage_duration_seconds",
            "Time a stage spends on one unit of work (a chunk of messages for decode, a micro-batch for the codec, a batch for batch/sink).",
            new HistogramConfiguration
            {
                LabelNames = ["stage"],
                Buckets = Histogram.ExponentialBuckets(0.000_005, 4, 12), // 5 us .. ~21 s
            });
        ConsumerLag = factory.CreateGauge("pipeline_kafka_consumer_lag",
            "High watermark minus the next offset to commit, per assigned partition (messages not yet durable).",
            new GaugeConfiguration { LabelNames = ["topic", "partition"] });
        BatchSize = factory.CreateHistogram("pipeline_batch_size", "Rows per flushed insert batch.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 20), SuppressInitialValue = workerOnly });
        CodecBatchSize = factory.CreateHistogram("pipeline_codec_batch_size",
            "Messages per micro-batch of a codec stage (one forward pass each), by stage.",
            new HistogramConfiguration { LabelNames = ["stage"], Buckets = Histogram.ExponentialBuckets(1, 2, 16) }); // 1 .. 32768
        CodecBytes = factory.CreateCounter("pipeline_codec_bytes_total",
            "Bytes through a codec stage, by stage and direction: in = the events as received, out = what the stage sends on " +
            "(envelopes, and the canonical JSON of events the model cannot code). in/out is the compression ratio on the wire.",
            new CounterConfiguration { LabelNames = ["stage", "direction"] });
        CodecEnvelopes = factory.CreateCounter("pipeline_codec_envelopes_total",
            "Envelopes a codec stage wrote, by model id (few values: the models of a roll-out).",
            new CounterConfiguration { LabelNames = ["stage", "model"] });
        CodecEnvelopeBytes = factory.CreateCounter("pipeline_codec_envelope_bytes_total",
            "Bytes of the envelopes a codec stage wrote, by model id: over pipeline_codec_envelopes_total, the model's bytes per " +
            "event now, to compare with pipeline_codec_model_trained_bytes_per_event (drift: a retrain signal).",
            new CounterConfiguration { LabelNames = ["stage", "model"] });
        CodecTrainedBytesPerEvent = factory.CreateGauge("pipeline_codec_model_trained_bytes_per_event",
            "Bytes per event the model reached on its held-out events at training (its artifact's evaluation), by model id.",
            new GaugeConfiguration { LabelNames = ["model"] });
        BatchTargetSize = factory.CreateGauge("pipeline_batch_target_size", "Batch size the batch policy asks for now.",
            new GaugeConfiguration { SuppressInitialValue = workerOnly });
        InsertDuration = factory.CreateHistogram("pipeline_clickhouse_insert_duration_seconds",
            "Duration of one INSERT request, by result.",
            new HistogramConfiguration { LabelNames = ["result"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });
        ClickHouseRows = factory.CreateCounter("pipeline_clickhouse_rows_total", "Rows acknowledged by ClickHouse.",
            new CounterConfiguration { SuppressInitialValue = workerOnly });
        ClickHouseBytes = factory.CreateCounter("pipeline_clickhouse_bytes_total", "RowBinary bytes acknowledged by ClickHouse (before HTTP compression).",
            new CounterConfiguration { SuppressInitialValue = workerOnly });
        InsertRetries = factory.CreateCounter("pipeline_clickhouse_insert_retries_total",
            "Insert attempts that failed and were retried, by cause.", new CounterConfiguration { LabelNames = ["cause"] });
        SchemaChanges = factory.CreateCounter("pipeline_clickhouse_schema_changes_total",
            "Changes of the target table's columns seen by the sink: before_insert (nothing inserted, the worker re-plans) or " +
            "during_insert (a batch was inserted around the change; see the log for its offsets).",
            new CounterConfiguration { LabelNames = ["when"] });
        DeadLetters = factory.CreateCounter("pipeline_dead_letter_total", "Messages acknowledged by the dead-letter topic, by reason.",
            new CounterConfiguration { LabelNames = ["reason"] });
        EndToEndLatency = factory.CreateHistogram("pipeline_end_to_end_latency_seconds",
            "From the Kafka message timestamp to the ClickHouse acknowledgement of its row.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.005, 2, 16), SuppressInitialValue = workerOnly });
        OffsetCommits = factory.CreateCounter("pipeline_offset_commits_total", "Offset commit requests, by result.",
            new CounterConfiguration { LabelNames = ["result"] });
        PausedPartitions = factory.CreateGauge("pipeline_kafka_paused", "1 while the source has paused its partitions for backpressure.");
        AssignedPartitions = factory.CreateGauge("pipeline_kafka_assigned_partitions", "Partitions currently assigned to this worker.");
        OffsetResets = factory.CreateCounter("pipeline_kafka_offset_resets_total",
            "Consumer positions Kafka reset because the messages there no longer exist (they were never read).");
        TelemetryDropped = factory.CreateCounter("pipeline_telemetry_dropped_total",
            "Telemetry rows dropped (queue full or ClickHouse refused them); telemetry never slows the pipeline.",
            new CounterConfiguration { SuppressInitialValue = workerOnly });
        DeliveryGuarantee = factory.CreateGauge("pipeline_delivery_guarantee",
            "1 for the delivery guarantee this worker gives its table (checked at start).", new GaugeConfiguration { LabelNames = ["guarantee"] });
        InFlightMessages = factory.CreateGauge("pipeline_in_flight_messages", "Consumed messages not yet inserted or dead-lettered.");
        BatchPolicyDecisions = factory.CreateCounter("pipeline_batch_policy_decisions_total",
            "Batch-size decisions by source: model (the DQN acts), fallback (static, the model is unusable), shadow (the DQN only advises).",
            new CounterConfiguration { LabelNames = ["source"] });
        BatchPolicyChosenSize = factory.CreateGauge("pipeline_batch_policy_chosen_size",
            "The batch size most recently chosen, by decision source.", new GaugeConfiguration { LabelNames = ["source"] });
        BatchPolicyDecisionDuration = factory.CreateHistogram("pipeline_batch_policy_decision_duration_seconds",
            "Time one learned-policy decision takes (state + forward pass).",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.000_001, 4, 10), SuppressInitialValue = workerOnly }); // 1 us .. ~0.26 s
        BatchPolicyFallbacks = factory.CreateCounter("pipeline_batch_policy_fallbacks_total",
            "Times the learned batch policy could not be used and the static policy acts instead, by reason.",
            new CounterConfiguration { LabelNames = ["reason"] });
    }

    public CollectorRegistry Registry { get; }
    public Counter BatchPolicyDecisions { get; }
    public Gauge BatchPolicyChosenSize { get; }
    public Histogram BatchPolicyDecisionDuration { get; }
    public Counter BatchPolicyFallbacks { get; }
    public Counter StageMessages { get; }
    public Gauge StageQueueDepth { get; }
    public Histogram StageDuration { get; }
    public Gauge ConsumerLag { get; }
    public Histogram BatchSize { get; }
    public Histogram CodecBatchSize { get; }
    public Counter CodecBytes { get; }
    public Counter CodecEnvelopes { get; }
    public Counter CodecEnvelopeBytes { get; }
    public Gauge CodecTrainedBytesPerEvent { get; }
    public Gauge BatchTargetSize { get; }
    public Histogram InsertDuration { get; }
    public Counter ClickHouseRows { get; }
    public Counter ClickHouseBytes { get; }
    public Counter InsertRetries { get; }
    public Counter SchemaChanges { get; }
    public Counter DeadLetters { get; }
    public Histogram EndToEndLatency { get; }
    public Counter OffsetCommits { get; }
    public Gauge PausedPartitions { get; }
    public Gauge AssignedPartitions { get; }
    public Gauge InFlightMessages { get; }
    public Gauge DeliveryGuarantee { get; }
    public Counter OffsetResets { get; }
    public Counter TelemetryDropped { get; }

    void IBatchPolicyMetrics.Decided(string source, int size)
    {
        BatchPolicyDecisions.WithLabels(source).Inc();
        BatchPolicyChosenSize.WithLabels(source).Set(size);
    }

    void IBatchPolicyMetrics.DecisionTook(double seconds) => BatchPolicyDecisionDuration.Observe(seconds);

    void IBatchPolicyMetrics.FellBack(string reason) => BatchPolicyFallbacks.WithLabels(reason).Inc();
}
