-- Numeric property statistics per (project, action, property, hour) and day
-- for GET /insights/trends' sum/avg/min/max/p50/p90/p99: count, sum, min,
-- max and a t-digest state (quantilesTDigest: relative error of a quantile
-- about 1% of the value range around it, smaller near the tails).
--
-- Fed from `events`, not from the window change log: a window carries only
-- per-window summaries of each property (count, sum, min, max over all its
-- actions), from which neither a per-action sum nor a quantile of the
-- events' values can be derived. `events` holds each (project, event_id)
-- once (the worker deduplicates before inserting, and a retried insert is
-- deduplicated by its token here too) and never retracts a row, so states
-- that only ever merge are exact: nothing needs un-merging. Unlike the
-- window measures, these include late events (the raw event is stored
-- whatever the late policy).
CREATE TABLE IF NOT EXISTS agg_property_values_1h
(
    project_id LowCardinality(String),
    action LowCardinality(String),
    property LowCardinality(String),
    hour DateTime('UTC'),
    count SimpleAggregateFunction(sum, UInt64),
    sum SimpleAggregateFunction(sum, Float64),
    min SimpleAggregateFunction(min, Float64),
    max SimpleAggregateFunction(max, Float64),
    quantiles AggregateFunction(quantilesTDigest(0.5, 0.9, 0.99), Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, property, hour, action)
SETTINGS non_replicated_deduplication_window = 10000;

-- A number is a raw JSON value that parses as a finite one (strings are quoted, so they do not).
CREATE MATERIALIZED VIEW IF NOT EXISTS agg_property_values_1h_mv TO agg_property_values_1h AS
SELECT project_id, action, p.1 AS property, toStartOfHour(timestamp) AS hour,
       count() AS count, sum(p.2) AS sum, min(p.2) AS min, max(p.2) AS max,
       quantilesTDigestState(0.5, 0.9, 0.99)(p.2) AS quantiles
FROM events
ARRAY JOIN arrayFilter(v -> isFinite(v.2), arrayMap(kv -> (kv.1, toFloat64OrDefault(kv.2, nan)), JSONExtractKeysAndValuesRaw(properties))) AS p
GROUP BY project_id, action, property, hour;

CREATE TABLE IF NOT EXISTS agg_property_values_1d
(
    project_id LowCardinality(String),
    action LowCardinality(String),
    property LowCardinality(String),
    day Date,
    count SimpleAggregateFunction(sum, UInt64),
    sum SimpleAggregateFunction(sum, Float64),
    min SimpleAggregateFunction(min, Float64),
    max SimpleAggregateFunction(max, Float64),
    quantiles AggregateFunction(quantilesTDigest(0.5, 0.9, 0.99), Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (project_id, property, day, action)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS agg_property_values_1d_mv TO agg_property_values_1d AS
SELECT project_id, action, property, toDate(hour) AS day,
       sum(count) AS count, sum(sum) AS sum, min(min) AS min, max(max) AS max,
       quantilesTDigestMergeState(0.5, 0.9, 0.99)(quantiles) AS quantiles
FROM agg_property_values_1h
GROUP BY project_id, action, property, day;

-- Events stored before this migration, once.
INSERT INTO agg_property_values_1h
SELECT project_id, action, p.1 AS property, toStartOfHour(timestamp) AS hour,
       count(), sum(p.2), min(p.2), max(p.2), quantilesTDigestState(0.5, 0.9, 0.99)(p.2)
FROM events
ARRAY JOIN arrayFilter(v -> isFinite(v.2), arrayMap(kv -> (kv.1, toFloat64OrDefault(kv.2, nan)), JSONExtractKeysAndValuesRaw(properties))) AS p
GROUP BY project_id, action, property, hour;
