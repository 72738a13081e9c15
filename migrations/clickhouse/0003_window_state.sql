-- Checkpoints of the windowed topologies' open windows, per Kafka partition:
-- after each batch the worker writes the windows that changed (with the
-- offset each has folded in up to) and marks the ones gone. A worker that
-- takes a partition over restores its open windows from here instead of
-- replaying their whole history, so offsets are committed batch by batch
-- even while a session stays open for hours. The highest version wins;
-- FINAL hides deleted rows.
CREATE TABLE IF NOT EXISTS window_state
(
    topology LowCardinality(String),
    partition UInt32,
    key String,
    window_start Int64,
    window_end Int64,
    aggregate String CODEC(ZSTD(3)),
    emitted UInt8,
    emitted_at Nullable(Int64),
    through_offset UInt64,
    version UInt64,
    is_deleted UInt8,
    written_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (topology, partition, key, window_start);
