-- Property discovery for GET /insights/properties: the property names seen
-- per (project, action), with their JSON type and when last seen, kept by a
-- view on `events` as they are stored: one row per name and type after
-- merges, so a read never scans events. A name seen with two types has a row
-- for each.
CREATE TABLE IF NOT EXISTS agg_event_properties
(
    project_id LowCardinality(String),
    action LowCardinality(String),
    name String,
    type LowCardinality(String),
    last_seen SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (project_id, action, name, type);

-- Raw JSON values: a string is quoted, a boolean is true/false, null says nothing, the rest are numbers.
CREATE MATERIALIZED VIEW IF NOT EXISTS agg_event_properties_mv TO agg_event_properties AS
SELECT project_id, action, kv.1 AS name,
       multiIf(startsWith(kv.2, '"'), 'string', kv.2 IN ('true', 'false'), 'boolean', 'number') AS type,
       max(timestamp) AS last_seen
FROM events
ARRAY JOIN JSONExtractKeysAndValuesRaw(properties) AS kv
WHERE kv.2 != 'null'
GROUP BY project_id, action, name, type;

-- Events stored before this migration, once.
INSERT INTO agg_event_properties
SELECT project_id, action, kv.1 AS name,
       multiIf(startsWith(kv.2, '"'), 'string', kv.2 IN ('true', 'false'), 'boolean', 'number') AS type,
       max(timestamp)
FROM events
ARRAY JOIN JSONExtractKeysAndValuesRaw(properties) AS kv
WHERE kv.2 != 'null'
GROUP BY project_id, action, name, type;
