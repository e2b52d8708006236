-- Adds the learned codec's columns (`pipeline train codec --clickhouse-url URL`) to an ml_model_performance table
-- created before them; see ml_model_performance.sql for what they mean. Existing rows read NULL there.
-- Run it once: ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS, so a second run fails with "Cannot add column
-- bytes_per_event: column with this name already exists" and changes nothing.
ALTER TABLE ml_model_performance
    ADD COLUMN bytes_per_event Nullable(Float64),
    ADD COLUMN mismatches Nullable(UInt64),
    ADD COLUMN corrections_per_event Nullable(Float64)
