using System.Diagnostics;
using EventPipeline.Models.Batching;
using EventPipeline.Models.Codec;
using EventPipeline.Models.Partitioning;
using EventPipeline.Stages.Events;
using EventPipeline.Stages.Partitioning;

namespace EventPipeline.Models.Tracking;

/// <summary>Turns what training already measured into ml_model_performance rows.</summary>
public static class ModelPerformanceReport
{
    public const string BatcherModel = "batcher-dqn";
    public const string CostModel = "insert-cost-model";
    public const string PartitionerModel = "partitioner-ppo";
    public const string CountCodecModel = "codec-count";
    public const string AutoencoderCodecModel = "codec-autoencoder";

    /// <summary>The policy of a codec row that measures whole envelopes; its per-field rows are "field:NAME".</summary>
    public const string EnvelopePolicy = "envelope";

    public const string FieldPolicyPrefix = "field:";

    /// <summary>The evaluations of a codec: the training events it kept back, and events of a world it has not seen.</summary>
    public const string HeldOutEvaluation = "held-out";

    public const string ShiftedEvaluation = "shifted";

    /// <summary>The policy name the trainer's evaluation gives the agent; the other policies are its baselines.</summary>
    public const string AgentPolicy = "dqn";

    /// <summary>
    /// One row per evaluation row (load profile x policy) of a trained batcher. The baselines are kept beside the
    /// agent under the same model version: a model's numbers mean little without what a simple policy did on the
    /// same simulated day.
    /// </summary>
    public static IEnumerable<ModelPerformanceRow> ForBatcher(BatcherMetadata metadata, long trainingSamples, double inferenceMilliseconds,
        DateTime timestamp) =>
        metadata.Evaluation.Select(row => new ModelPerformanceRow
        {
            Timestamp = timestamp, ModelName = BatcherModel, ModelVersion = metadata.Version, Evaluation = "simulator",
            Profile = row.Profile, Policy = row.Policy,
            ThroughputRowsPerSecond = ModelPerformanceRow.Finite(row.ThroughputRowsPerSecond),
            P50Seconds = ModelPerformanceRow.Finite(row.P50Seconds), P95Seconds = ModelPerformanceRow.Finite(row.P95Seconds),
            P99Seconds = ModelPerformanceRow.Finite(row.P99Seconds), InsertsPerSecond = ModelPerformanceRow.Finite(row.InsertsPerSecond),
            Reward = ModelPerformanceRow.Finite(row.MeanReward), TrainingSamples = trainingSamples,
            InferenceTimeMs = row.Policy == AgentPolicy ? ModelPerformanceRow.Finite(inferenceMilliseconds) : null,
        });

    /// <summary>The cost model's prediction errors on the inserts it was fitted on.</summary>
    /// <param name="evaluation">calibration (inserts timed by `pipeline calibrate`) or telemetry (production inserts).</param>
    public static ModelPerformanceRow ForCostModel(InsertCostModel model, InsertCostFitQuality quality, string evaluation, DateTime timestamp) => new()
    {
        Timestamp = timestamp, ModelName = CostModel, ModelVersion = model.MeasuredAt, Evaluation = evaluation,
        PredictionAccuracy = ModelPerformanceRow.Finite(quality.ShareWithinTolerance), Mae = ModelPerformanceRow.Finite(quality.MaeSeconds),
        Rmse = ModelPerformanceRow.Finite(quality.RmseSeconds), R2 = ModelPerformanceRow.Finite(quality.R2), TrainingSamples = quality.Points,
    };

    /// <summary>
    /// Mean time of one greedy decision (one forward pass) over fixed pseudo-random states, after a warm-up that
    /// keeps TorchSharp's first-call costs out of the figure.
    /// </summary>
    public static double MeasureInferenceMilliseconds(DqnAgent agent, int decisions = 1_000)
    {
        var random = new Random(1);
        var states = Enumerable.Range(0, 64).Select(_ => Enumerable.Range(0, BatcherSchema.StateSize).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
        for (var i = 0; i < 50; i++)
            agent.Greedy(states[i % states.Length]);
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < decisions; i++)
            agent.Greedy(states[i % states.Length]);
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds / decisions;
    }

    /// <summary>
    /// One row per evaluation cell (workload at a partition count x strategy) of a trained fan-out policy: profile is
    /// "workload/n", reward the median score over the seeds (<see cref="PartitioningEvaluationRow.Score"/>). The classical
    /// strategies are kept beside ppo under the same model version, as the batcher keeps its baselines.
    /// </summary>
    public static IEnumerable<ModelPerformanceRow> ForPartitioner(PartitionerMetadata metadata, double inferenceMilliseconds, DateTime timestamp) =>
        metadata.Evaluation.Select(row => new ModelPerformanceRow
        {
            Timestamp = timestamp, ModelName = PartitionerModel, ModelVersion = metadata.Version, Evaluation = "simulator",
            Profile = $"{row.Workload}/{row.Partitions}", Policy = row.Strategy, Reward = ModelPerformanceRow.Finite(row.Score.Median),
            TrainingSamples = metadata.TrainingSamples,
            InferenceTimeMs = row.Strategy == "ppo" ? ModelPerformanceRow.Finite(inferenceMilliseconds) : null,
        });

    /// <summary>Mean time of one fan-out decision (16 heavy keys) of <paramref name="policy"/>, after a warm-up.</summary>
    public static double MeasureInferenceMilliseconds(IFanOutPolicy policy, int partitionCount, int decisions = 2_000)
    {
        var random = new Random(1);
        var states = Enumerable.Range(0, 16).Select(_ => new FanOutState(partitionCount,
            [.. Enumerable.Range(0, FanOutSchema.Slots).Select(i => new HeavyKey((ulong)i, random.NextDouble() / (i + 2), 1 << random.Next(7), random.NextDouble() * 3))],
            random.NextDouble(), 1 + (random.NextDouble() * 10))).ToArray();
        var fanOuts = new int[FanOutSchema.Slots];
        for (var i = 0; i < 100; i++)
            policy.Decide(states[i % states.Length], fanOuts);
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < decisions; i++)
            policy.Decide(states[i % states.Length], fanOuts);
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds / decisions;
    }

    /// <summary>
    /// Per dataset, one row for whole envelopes (bytes/event, round-trip mismatches, encode+decode events/s and, for the
    /// autoencoder, corrections/event) and one per coded quantity the model attributes bits to, its share of
    /// bytes/event (the quantities' shares add up to the envelope less its header and the coder's state).
    /// </summary>
    public static IEnumerable<ModelPerformanceRow> ForCodec(CodecMetadata metadata, IEnumerable<CodecDatasetEvaluation> datasets, DateTime timestamp)
    {
        var model = metadata.Kind == CodecMetadata.CountKind ? CountCodecModel : AutoencoderCodecModel;
        foreach (var dataset in datasets)
        {
            var roundTrip = dataset.RoundTrip;
            yield return new ModelPerformanceRow
            {
                Timestamp = timestamp, ModelName = model, ModelVersion = metadata.Version, Evaluation = dataset.Dataset, Policy = EnvelopePolicy,
                BytesPerEvent = ModelPerformanceRow.Finite(roundTrip.BytesPerEvent), Mismatches = roundTrip.Mismatches,
                CorrectionsPerEvent = roundTrip.CorrectionsPerEvent is { } corrections ? ModelPerformanceRow.Finite(corrections) : null,
                ThroughputRowsPerSecond = ModelPerformanceRow.Finite(roundTrip.EventsPerSecond), TrainingSamples = metadata.TrainingEvents,
            };
            foreach (var (quantity, bits) in dataset.BitsPerEvent)
            {
                yield return new ModelPerformanceRow
                {
                    Timestamp = timestamp, ModelName = model, ModelVersion = metadata.Version, Evaluation = dataset.Dataset,
                    Policy = FieldPolicyPrefix + quantity, BytesPerEvent = ModelPerformanceRow.Finite(bits / 8), TrainingSamples = metadata.TrainingEvents,
                };
            }
        }
    }

    /// <summary>
    /// A round trip of <paramref name="events"/> through <paramref name="codec"/> with a producer's record timestamps,
    /// and, for the count model, where the bits go.
    /// </summary>
    public static CodecDatasetEvaluation MeasureCodec(ICodecModel codec, string dataset, IReadOnlyList<AnalyticsEvent> events)
    {
        var recordTimestamps = EntropyTrainer.ProducerClock(events);
        var roundTrip = CodecRoundTrip.Measure(codec, events, recordTimestamps);
        var bits = codec is EntropyCodec counted ? counted.BitsPerEvent(events, recordTimestamps) : new Dictionary<string, double>();
        return new CodecDatasetEvaluation(dataset, roundTrip, bits);
    }
}
