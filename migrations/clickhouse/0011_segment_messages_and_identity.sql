-- Schema v3: the Segment message's type, anonymous id, traits, page or
-- screen name and the client's own message id. Rows stored before read the
-- defaults of the v3 reader schema: `track`, NULL, '{}', NULL, NULL.
ALTER TABLE events
    ADD COLUMN IF NOT EXISTS type LowCardinality(String) DEFAULT 'track' AFTER action,
    ADD COLUMN IF NOT EXISTS anonymous_id Nullable(String) AFTER user_id,
    ADD COLUMN IF NOT EXISTS traits String DEFAULT '{}' CODEC(ZSTD(3)) AFTER properties,
    ADD COLUMN IF NOT EXISTS name Nullable(String) AFTER type,
    ADD COLUMN IF NOT EXISTS message_id Nullable(String) AFTER event_id;

-- Identity, derived from the stored events (each stored once per event id,
-- so each view sees an event once) by views the worker needs no rights for.
--
-- Links: an identify or alias carrying an anonymous (or, for alias, a
-- previous) id beside its user id links that id to the user, from the
-- first such event's time on; a link is never undone. Reads merge the rows
-- of a pair (min).
CREATE TABLE IF NOT EXISTS user_links
(
    project_id LowCardinality(String),
    user_id String,
    linked_id String,
    linked_at SimpleAggregateFunction(min, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (project_id, user_id, linked_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS user_links_mv TO user_links AS
SELECT project_id, user_id, assumeNotNull(anonymous_id) AS linked_id, timestamp AS linked_at
FROM events
WHERE type IN ('identify', 'alias') AND anonymous_id IS NOT NULL AND anonymous_id != user_id;

-- Traits: one row per identify and trait (its JSON value); a trait's value
-- is the one of the identify with the latest event time (then receive time).
CREATE TABLE IF NOT EXISTS user_traits
(
    project_id LowCardinality(String),
    user_id String,
    trait String,
    value String CODEC(ZSTD(3)),
    timestamp DateTime64(3, 'UTC'),
    received_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(timestamp)
ORDER BY (project_id, user_id, trait);

CREATE MATERIALIZED VIEW IF NOT EXISTS user_traits_mv TO user_traits AS
SELECT project_id, user_id, pair.1 AS trait, pair.2 AS value, timestamp, received_at
FROM events
ARRAY JOIN JSONExtractKeysAndValuesRaw(traits) AS pair
WHERE type = 'identify';

-- First and last event time of every id (users and anonymous ids alike),
-- so GET /users reads a few rows, not a user's events.
CREATE TABLE IF NOT EXISTS user_seen
(
    project_id LowCardinality(String),
    user_id String,
    first_seen SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (project_id, user_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS user_seen_mv TO user_seen AS
SELECT project_id, user_id, timestamp AS first_seen, timestamp AS last_seen
FROM events;

-- Events stored before the view existed. Min and max are the same however
-- often an event is counted, so one stored by both this copy and the view,
-- or two processes migrating at once, change nothing.
INSERT INTO user_seen
SELECT project_id, user_id, min(timestamp), max(timestamp)
FROM events
GROUP BY project_id, user_id;
