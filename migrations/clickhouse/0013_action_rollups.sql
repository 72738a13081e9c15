-- Per-action rollups for GET /insights/trends: events and unique users per
-- (project, action, bucket) at 1m, 1h and 1d, so a trend over every user
-- reads a few rows per bucket instead of one per user.
--
-- Both come from the window change log (agg_user_activity_changes), like the
-- per-user rollups of 0002:
--   - events: sum of count x sign, exact however often a window is revised.
--   - users: a uniqCombined state (HyperLogLog with 2^17 cells once large;
--     exact below a few thousand distinct users per bucket; relative error
--     about 0.5% beyond). A state cannot be un-merged, so -1 rows cannot
--     take a user out of it: the states take only the +1 rows. That is exact
--     here because a minute window only grows: each revision holds every
--     event of the one it replaces (late corrections included), so the set
--     of (user, action) of the latest revision is the union of all
--     revisions', and union is what merging states computes. A window that
--     could shrink or be deleted (sessions merging) would need states from
--     final rows only; this topology has none.
CREATE TABLE IF NOT EXISTS agg_action_activity_1m
(
    project_id LowCardinality(String),
    action LowCardinality(String),
    minute DateTime('UTC'),
    events SimpleAggregateFunction(sum, Int64),
    users AggregateFunction(uniqCombined, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (project_id, minute, action)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS agg_action_activity_1m_mv TO agg_action_activity_1m AS
SELECT project_id, action, toStartOfMinute(window_start) AS minute,
       sum(toInt64(n) * sign) AS events,
       uniqCombinedStateIf(user_id, sign = 1) AS users
FROM agg_user_activity_changes
ARRAY JOIN mapKeys(actions) AS action, mapValues(actions) AS n
GROUP BY project_id, action, minute;

CREATE TABLE IF NOT EXISTS agg_action_activity_1h
(
    project_id LowCardinality(String),
    action LowCardinality(String),
    hour DateTime('UTC'),
    events SimpleAggregateFunction(sum, Int64),
    users AggregateFunction(uniqCombined, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, action)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS agg_action_activity_1h_mv TO agg_action_activity_1h AS
SELECT project_id, action, toStartOfHour(window_start) AS hour,
       sum(toInt64(n) * sign) AS events,
       uniqCombinedStateIf(user_id, sign = 1) AS users
FROM agg_user_activity_changes
ARRAY JOIN mapKeys(actions) AS action, mapValues(actions) AS n
GROUP BY project_id, action, hour;

CREATE TABLE IF NOT EXISTS agg_action_activity_1d
(
    project_id LowCardinality(String),
    action LowCardinality(String),
    day Date,
    events SimpleAggregateFunction(sum, Int64),
    users AggregateFunction(uniqCombined, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (project_id, day, action)
SETTINGS non_replicated_deduplication_window = 10000;

-- Days roll up from the hours: their states merge (a union of users).
CREATE MATERIALIZED VIEW IF NOT EXISTS agg_action_activity_1d_mv TO agg_action_activity_1d AS
SELECT project_id, action, toDate(hour) AS day, sum(events) AS events, uniqCombinedMergeState(users) AS users
FROM agg_action_activity_1h
GROUP BY project_id, action, day;

-- Windows stored before this migration: their latest revision, once.
INSERT INTO agg_action_activity_1m
SELECT project_id, action, toStartOfMinute(window_start) AS minute, sum(toInt64(n)), uniqCombinedState(user_id)
FROM agg_user_activity_1m FINAL
ARRAY JOIN mapKeys(actions) AS action, mapValues(actions) AS n
GROUP BY project_id, action, minute;

INSERT INTO agg_action_activity_1h
SELECT project_id, action, toStartOfHour(window_start) AS hour, sum(toInt64(n)), uniqCombinedState(user_id)
FROM agg_user_activity_1m FINAL
ARRAY JOIN mapKeys(actions) AS action, mapValues(actions) AS n
GROUP BY project_id, action, hour;
