-- One row per insert attempt the worker finished (Telemetry:Table). Created by an operator, never by the worker.
-- Runs on ClickHouse 18.16 and later.
CREATE TABLE IF NOT EXISTS pipeline_telemetry
(
    time DateTime,
    worker String,
    policy String,
    rows UInt32,
    bytes UInt64,
    insert_seconds Float64,
    succeeded UInt8,
    oldest_row_age_seconds Float64,
    queue_depth UInt32,
    arrival_rate Float64,
    chosen_size UInt32
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (worker, time)
