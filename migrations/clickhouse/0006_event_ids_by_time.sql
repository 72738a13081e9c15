-- `event_ids` again, ordered by the time inside a UUIDv7 first: the worker
-- looks a round's ids up before storing them, and a lookup reads every
-- granule whose key range may hold one of its ids. ClickHouse orders UUIDs
-- by their second half (random in v4 and v7 alike), so ordered by id alone a
-- round's ids hit nearly every granule and the lookup grew with every event
-- ever stored. The API gives events sent without an id a UUIDv7 (its receive
-- time first); under this key a round's ids of that kind fall in the last
-- granules only. Ids of other versions (a client's own v4) all have the time
-- 1970-01-01 here and are ordered by id among themselves.
-- Workers of the previous version look up `event_ids`, dropped below: they
-- retry their round until they are replaced, without losing anything.
CREATE TABLE IF NOT EXISTS event_ids_by_time
(
    event_id UUID,
    kafka_partition UInt32,
    kafka_offset UInt64,
    stored_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (UUIDv7ToDateTime(event_id), event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS event_ids_by_time_mv TO event_ids_by_time AS
SELECT event_id, kafka_partition, kafka_offset, stored_at FROM events;

-- Ids stored before the view existed. One stored again (by this copy racing
-- the view, or by a second process migrating at once) is still one id: the
-- lookup takes each id's earliest record.
INSERT INTO event_ids_by_time SELECT event_id, kafka_partition, kafka_offset, stored_at FROM events;

DROP VIEW IF EXISTS event_ids_mv;

DROP TABLE IF EXISTS event_ids;
