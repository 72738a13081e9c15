-- Raw tracked events, one row per event, as the topology worker consumed them.
-- Ordered for per-user reads (user, then event time); monthly partitions keep
-- time-range reads and TTL/drops cheap.
-- non_replicated_deduplication_window: the worker sends each Kafka batch with
-- an insert_deduplication_token derived from its offsets, so a batch replayed
-- after a crash between insert and offset commit is recognised and skipped.
CREATE TABLE IF NOT EXISTS events
(
    event_id UUID,
    user_id String,
    action LowCardinality(String),
    timestamp DateTime64(3, 'UTC'),
    received_at DateTime64(3, 'UTC'),
    properties String CODEC(ZSTD(3)),
    kafka_partition UInt32,
    kafka_offset UInt64,
    stored_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (user_id, timestamp, event_id)
SETTINGS non_replicated_deduplication_window = 10000;
