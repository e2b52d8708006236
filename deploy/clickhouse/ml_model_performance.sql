-- How well each trained model did, one row per measurement (`pipeline train batcher|partitioner|codec --clickhouse-url URL`).
-- Created by an operator, never by the pipeline. Runs on ClickHouse 18.16 and later. A table created before the
-- codec's columns (bytes_per_event, mismatches, corrections_per_event) is upgraded with ml_model_performance-upgrade-1.sql.
--
-- model_name: batcher-dqn (the learned batch sizer), insert-cost-model (the simulator's insert cost law),
--   partitioner-ppo (the learned fan-out policy of the producer's partitioner, `pipeline train partitioner`),
--   codec-count or codec-autoencoder (the learned event codec by --kind, `pipeline train codec`).
-- model_version: the artifact's version; for a codec its codec.json version, which names the model id its envelopes carry.
-- evaluation: where the numbers come from: simulator (the trainer's evaluation day per load profile), real-pipeline
--   (`bench -- batching --clickhouse-url URL`: the medians over the bench's runs of each policy on the real pipeline),
--   calibration (the cost model against the inserts `pipeline calibrate` timed), telemetry (against the
--   production inserts in the telemetry table it was refitted from); for a codec held-out (the training events
--   it kept back) or shifted (generated events of apps, months and a country mix it has not seen).
-- profile, policy: for batcher-dqn, the load profile and the policy the row measures: dqn is the model itself,
--   the others (static-N, aimd, threshold, random) are the baselines it was compared with on the same load.
--   For partitioner-ppo, profile is workload/partitions (zipf-1.1/64) and policy the strategy (ppo, hash, pkg, ...);
--   reward is then the median over the seeds of -(hottest/mean - 1) - spread cost - latency in decision intervals.
--   For a codec, policy is envelope (whole envelopes) or field:QUANTITY (field:AppId, field:Verbatim, ...: the
--   count model's share of bytes_per_event spent on that coded quantity; the autoencoder has no such rows).
-- A metric that does not apply to a row is NULL: the simulator rows have no MAE, the cost model no throughput.
-- prediction_accuracy: share of measured inserts the cost model predicts within 20% of the measured time.
-- mae, rmse: of the predicted insert time, in seconds. r2: of the same prediction.
-- throughput_rows_per_second: for a codec, events encoded and decoded per second on the training machine.
-- training_samples: transitions the agent learned from (batcher-dqn); inserts the law was fitted on (cost model);
--   events a codec was trained on; 0 for real-pipeline rows (they measure, they train nothing).
-- inference_time_ms: mean time of one greedy decision of the agent on the training machine (dqn rows only).
-- bytes_per_event: a codec's mean bytes on the wire per event (an event it cannot code counts as its JSON).
-- mismatches: events whose decode is not the event encoded; anything but 0 is a bug.
-- corrections_per_event: fields the autoencoder's latent got wrong and its envelope corrects (codec-autoencoder only).
CREATE TABLE IF NOT EXISTS ml_model_performance
(
    timestamp DateTime,
    model_name String,
    model_version String,
    evaluation String,
    profile String,
    policy String,
    prediction_accuracy Nullable(Float64),
    mae Nullable(Float64),
    rmse Nullable(Float64),
    r2 Nullable(Float64),
    throughput_rows_per_second Nullable(Float64),
    p50_seconds Nullable(Float64),
    p95_seconds Nullable(Float64),
    p99_seconds Nullable(Float64),
    inserts_per_second Nullable(Float64),
    reward Nullable(Float64),
    training_samples UInt64,
    inference_time_ms Nullable(Float64),
    bytes_per_event Nullable(Float64),
    mismatches Nullable(UInt64),
    corrections_per_event Nullable(Float64)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (model_name, timestamp)
