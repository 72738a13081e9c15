-- Results of the per-user windowed topologies (topology/).
--
-- agg_user_activity_changes is the log the worker writes: a new revision of a
-- window inserts +1 with its values and -1 with the values of the revision
-- it replaces (the one stored before). Summing value * sign over any grouping
-- gives the latest values however often a window was re-emitted, so the
-- hour and day rollups below, fed by materialized views, never count a window
-- twice. The worker inserts a revision only when it is newer than the stored
-- one, which makes a replay after a crash a no-op.
CREATE TABLE IF NOT EXISTS agg_user_activity_changes
(
    topology LowCardinality(String),
    project_id LowCardinality(String),
    user_id String,
    window_start DateTime64(3, 'UTC'),
    window_end DateTime64(3, 'UTC'),
    revision UInt32,
    sign Int8,
    is_final UInt8,
    events UInt64,
    actions Map(String, UInt64),
    first_event_at DateTime64(3, 'UTC'),
    last_event_at DateTime64(3, 'UTC'),
    numeric_count Map(String, UInt64),
    numeric_sum Map(String, Float64),
    numeric_min Map(String, Float64),
    numeric_max Map(String, Float64),
    emitted_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (project_id, user_id, window_start, revision)
TTL toDateTime(emitted_at) + INTERVAL 30 DAY;

-- The current result of each per-minute window (the highest revision wins;
-- read with FINAL). is_final: the window closed (watermark past end + grace).
CREATE TABLE IF NOT EXISTS agg_user_activity_1m
(
    topology LowCardinality(String),
    project_id LowCardinality(String),
    user_id String,
    window_start DateTime64(3, 'UTC'),
    window_end DateTime64(3, 'UTC'),
    revision UInt32,
    is_final UInt8,
    events UInt64,
    actions Map(String, UInt64),
    first_event_at DateTime64(3, 'UTC'),
    last_event_at DateTime64(3, 'UTC'),
    numeric_count Map(String, UInt64),
    numeric_sum Map(String, Float64),
    numeric_min Map(String, Float64),
    numeric_max Map(String, Float64),
    emitted_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(window_start)
ORDER BY (project_id, user_id, window_start);

CREATE MATERIALIZED VIEW IF NOT EXISTS agg_user_activity_1m_mv TO agg_user_activity_1m AS
SELECT topology, project_id, user_id, window_start, window_end, revision, is_final, events, actions,
       first_event_at, last_event_at, numeric_count, numeric_sum, numeric_min, numeric_max, emitted_at
FROM agg_user_activity_changes
WHERE sign = 1;

-- Hour rollup: signed sums of the changes. first/last and min/max only ever
-- widen as a window grows, so min/max over every revision is exact.
CREATE TABLE IF NOT EXISTS agg_user_activity_1h
(
    project_id LowCardinality(String),
    user_id String,
    hour DateTime('UTC'),
    events SimpleAggregateFunction(sum, Int64),
    actions SimpleAggregateFunction(sumMap, Map(String, Int64)),
    first_event_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_event_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    numeric_count SimpleAggregateFunction(sumMap, Map(String, Int64)),
    numeric_sum SimpleAggregateFunction(sumMap, Map(String, Float64)),
    numeric_min SimpleAggregateFunction(minMap, Map(String, Float64)),
    numeric_max SimpleAggregateFunction(maxMap, Map(String, Float64)),
    -- The overview reads one time range across all users: ordered by hour,
    -- it reads that range, not the table.
    PROJECTION by_hour (SELECT * ORDER BY project_id, hour, user_id)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, user_id, hour)
SETTINGS deduplicate_merge_projection_mode = 'rebuild';

CREATE MATERIALIZED VIEW IF NOT EXISTS agg_user_activity_1h_mv TO agg_user_activity_1h AS
SELECT project_id, user_id, toStartOfHour(window_start) AS hour,
       sum(toInt64(events) * sign) AS events,
       sumMap(mapApply((k, v) -> (k, toInt64(v) * sign), actions)) AS actions,
       min(first_event_at) AS first_event_at,
       max(last_event_at) AS last_event_at,
       sumMap(mapApply((k, v) -> (k, toInt64(v) * sign), numeric_count)) AS numeric_count,
       sumMap(mapApply((k, v) -> (k, v * sign), numeric_sum)) AS numeric_sum,
       minMap(numeric_min) AS numeric_min,
       maxMap(numeric_max) AS numeric_max
FROM agg_user_activity_changes
GROUP BY project_id, user_id, hour;

CREATE TABLE IF NOT EXISTS agg_user_activity_1d
(
    project_id LowCardinality(String),
    user_id String,
    day Date,
    events SimpleAggregateFunction(sum, Int64),
    actions SimpleAggregateFunction(sumMap, Map(String, Int64)),
    first_event_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_event_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    numeric_count SimpleAggregateFunction(sumMap, Map(String, Int64)),
    numeric_sum SimpleAggregateFunction(sumMap, Map(String, Float64)),
    numeric_min SimpleAggregateFunction(minMap, Map(String, Float64)),
    numeric_max SimpleAggregateFunction(maxMap, Map(String, Float64))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (project_id, user_id, day);

-- Days roll up from the hours (the signs are already summed there).
CREATE MATERIALIZED VIEW IF NOT EXISTS agg_user_activity_1d_mv TO agg_user_activity_1d AS
SELECT project_id, user_id, toDate(hour) AS day,
       sum(events) AS events,
       sumMap(actions) AS actions,
       min(first_event_at) AS first_event_at,
       max(last_event_at) AS last_event_at,
       sumMap(numeric_count) AS numeric_count,
       sumMap(numeric_sum) AS numeric_sum,
       minMap(numeric_min) AS numeric_min,
       maxMap(numeric_max) AS numeric_max
FROM agg_user_activity_1h
GROUP BY project_id, user_id, day;

-- Per-user sessions (inactivity gap): the latest revision of each session;
-- a session merged into an earlier-starting one is deleted (is_deleted = 1).
CREATE TABLE IF NOT EXISTS agg_user_sessions
(
    topology LowCardinality(String),
    project_id LowCardinality(String),
    user_id String,
    session_start DateTime64(3, 'UTC'),
    session_end DateTime64(3, 'UTC'),
    revision UInt32,
    is_final UInt8,
    is_deleted UInt8,
    events UInt64,
    actions Map(String, UInt64),
    first_event_at DateTime64(3, 'UTC'),
    last_event_at DateTime64(3, 'UTC'),
    duration_ms UInt64,
    emitted_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(revision, is_deleted)
PARTITION BY toYYYYMM(session_start)
ORDER BY (project_id, user_id, session_start);

-- Events that arrived after their window closed (watermark past end + grace).
-- The raw event is stored in `events` regardless; here they are counted.
CREATE TABLE IF NOT EXISTS late_events
(
    topology LowCardinality(String),
    project_id LowCardinality(String),
    user_id String,
    window_start DateTime64(3, 'UTC'),
    event_id UUID,
    event_time DateTime64(3, 'UTC'),
    late_by_ms UInt64,
    corrected UInt8,
    recorded_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (topology, project_id, window_start, event_id);

-- Each topology's watermark and open state per Kafka partition, as of the
-- last batch: what the window state looks like, in the open.
CREATE TABLE IF NOT EXISTS topology_watermarks
(
    topology LowCardinality(String),
    partition UInt32,
    watermark DateTime64(3, 'UTC'),
    open_windows UInt64,
    late_events UInt64,
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (topology, partition);
