-- An event_id is unique within its project, not across projects: the
-- worker's dedupe asks "is this project's event id stored?", so one project
-- sending another's ids (a copied SDK snippet, a hostile client) can never
-- make the other's events read as duplicates and vanish. `event_ids_by_time`
-- gains the project, in its key (two projects' rows of one id are two rows).
-- Ids stored before this migration have the project '' and answer for every
-- project, as they did.
ALTER TABLE event_ids_by_time
    ADD COLUMN IF NOT EXISTS project_id LowCardinality(String) AFTER event_id,
    MODIFY ORDER BY (UUIDv7ToDateTime(event_id), event_id, project_id);

-- The new view is in place before the old one goes, so no stored event is
-- missed between them; an id stored by both in that instant has a row with
-- its project and one with '' (the latter still answers for every project).
CREATE MATERIALIZED VIEW IF NOT EXISTS event_ids_by_project_mv TO event_ids_by_time AS
SELECT event_id, project_id, kafka_partition, kafka_offset, stored_at FROM events;

DROP VIEW IF EXISTS event_ids_by_time_mv;
