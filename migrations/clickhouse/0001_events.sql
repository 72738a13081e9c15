-- Raw tracked events, one row per event_id, as the topology worker consumed
-- them (every schema version resolved to the newest). Ordered for per-user
-- reads (project, user, then event time); monthly partitions keep time-range
-- reads and drops cheap.
-- non_replicated_deduplication_window: the worker sends each Kafka batch with
-- an insert_deduplication_token derived from its offsets, so a batch replayed
-- after a crash between insert and offset commit is recognised and skipped.
CREATE TABLE IF NOT EXISTS events
(
    event_id UUID,
    project_id LowCardinality(String),
    user_id String,
    action LowCardinality(String),
    timestamp DateTime64(3, 'UTC'),
    sent_at Nullable(DateTime64(3, 'UTC')),
    received_at DateTime64(3, 'UTC'),
    session_id Nullable(String),
    properties String CODEC(ZSTD(3)),
    context_ip Nullable(String),
    context_user_agent Nullable(String) CODEC(ZSTD(3)),
    context_locale LowCardinality(Nullable(String)),
    context_library_name LowCardinality(Nullable(String)),
    context_library_version LowCardinality(Nullable(String)),
    context_page_url Nullable(String) CODEC(ZSTD(3)),
    warnings Array(LowCardinality(String)),
    schema_id UInt32,
    kafka_partition UInt32,
    kafka_offset UInt64,
    stored_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (project_id, user_id, timestamp, event_id)
SETTINGS non_replicated_deduplication_window = 10000;

-- Every stored event_id with the Kafka record it was stored from, ordered by
-- id, so the worker can ask "which of these ids are stored, and from which
-- record?" with a primary-key lookup before inserting: a client's resend of
-- an event (same event_id) never becomes a second row, and a replayed record
-- is recognised as the one that was stored.
CREATE TABLE IF NOT EXISTS event_ids
(
    event_id UUID,
    kafka_partition UInt32,
    kafka_offset UInt64,
    stored_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY event_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS event_ids_mv TO event_ids AS
SELECT event_id, kafka_partition, kafka_offset, stored_at FROM events;
