-- The highest Kafka offset stored in `events` per partition. A worker that
-- takes a partition over reads it once: the raw events of a round are
-- stored before its window results, so no earlier owner can have written a
-- window that only records above this offset belong to. Those windows'
-- stored values are then known without asking ClickHouse (see
-- src/storage/window-results.ts); the others are looked up.
CREATE TABLE IF NOT EXISTS stored_offsets
(
    kafka_partition UInt32,
    max_offset SimpleAggregateFunction(max, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY kafka_partition;

CREATE MATERIALIZED VIEW IF NOT EXISTS stored_offsets_mv TO stored_offsets AS
SELECT kafka_partition, max(kafka_offset) AS max_offset FROM events GROUP BY kafka_partition;

-- Events stored before this view existed (a max taken twice is still the max).
INSERT INTO stored_offsets SELECT kafka_partition, max(kafka_offset) FROM events GROUP BY kafka_partition;
