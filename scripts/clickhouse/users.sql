-- StreamTrack's ClickHouse users: one per process, each with only what that
-- process does (users.sh fills in the user prefix, the database and the
-- passwords' SHA-256; nothing secret is in this file). Rerunning it sets the passwords
-- again and makes each user's rights exactly these.
--
--   init:   DDL on the database (the `init` command: migrations).
--   api:    reads what /activities, /stats and /users read; reads and writes the keys tables.
--   worker: writes raw events, window results, checkpoints; reads back what it
--           looks up. Materialized views write their targets as their definer
--           (init's user), so the worker needs no rights on the rollups.
CREATE USER IF NOT EXISTS @PREFIX@_init IDENTIFIED WITH sha256_hash BY '@INIT_PASSWORD_SHA256@';
ALTER USER @PREFIX@_init IDENTIFIED WITH sha256_hash BY '@INIT_PASSWORD_SHA256@';
REVOKE ALL ON *.* FROM @PREFIX@_init;
GRANT ALL ON @DATABASE@.* TO @PREFIX@_init;

CREATE USER IF NOT EXISTS @PREFIX@_api IDENTIFIED WITH sha256_hash BY '@API_PASSWORD_SHA256@';
ALTER USER @PREFIX@_api IDENTIFIED WITH sha256_hash BY '@API_PASSWORD_SHA256@';
REVOKE ALL ON *.* FROM @PREFIX@_api;
GRANT SELECT ON @DATABASE@.events TO @PREFIX@_api;
GRANT SELECT ON @DATABASE@.event_ids_by_time TO @PREFIX@_api;
GRANT SELECT ON @DATABASE@.agg_user_activity_1m TO @PREFIX@_api;
GRANT SELECT ON @DATABASE@.agg_user_activity_1h TO @PREFIX@_api;
GRANT SELECT ON @DATABASE@.agg_user_activity_1d TO @PREFIX@_api;
GRANT SELECT ON @DATABASE@.agg_user_sessions TO @PREFIX@_api;
GRANT SELECT ON @DATABASE@.topology_watermarks TO @PREFIX@_api;
GRANT SELECT ON @DATABASE@.late_events TO @PREFIX@_api;
GRANT SELECT ON @DATABASE@.user_links TO @PREFIX@_api;
GRANT SELECT ON @DATABASE@.user_traits TO @PREFIX@_api;
GRANT SELECT ON @DATABASE@.user_seen TO @PREFIX@_api;
GRANT SELECT ON @DATABASE@.agg_action_activity_1m TO @PREFIX@_api;
GRANT SELECT ON @DATABASE@.agg_action_activity_1h TO @PREFIX@_api;
GRANT SELECT ON @DATABASE@.agg_action_activity_1d TO @PREFIX@_api;
GRANT SELECT ON @DATABASE@.agg_property_values_1h TO @PREFIX@_api;
GRANT SELECT ON @DATABASE@.agg_property_values_1d TO @PREFIX@_api;
GRANT SELECT ON @DATABASE@.agg_event_properties TO @PREFIX@_api;
GRANT SELECT, INSERT ON @DATABASE@.api_keys TO @PREFIX@_api;
GRANT SELECT, INSERT ON @DATABASE@.projects TO @PREFIX@_api;

CREATE USER IF NOT EXISTS @PREFIX@_worker IDENTIFIED WITH sha256_hash BY '@WORKER_PASSWORD_SHA256@';
ALTER USER @PREFIX@_worker IDENTIFIED WITH sha256_hash BY '@WORKER_PASSWORD_SHA256@';
REVOKE ALL ON *.* FROM @PREFIX@_worker;
GRANT INSERT ON @DATABASE@.events TO @PREFIX@_worker;
GRANT SELECT ON @DATABASE@.event_ids_by_time TO @PREFIX@_worker;
GRANT SELECT ON @DATABASE@.stored_offsets TO @PREFIX@_worker;
GRANT INSERT ON @DATABASE@.agg_user_activity_changes TO @PREFIX@_worker;
GRANT SELECT ON @DATABASE@.agg_user_activity_1m TO @PREFIX@_worker;
GRANT INSERT ON @DATABASE@.agg_user_sessions TO @PREFIX@_worker;
GRANT INSERT ON @DATABASE@.late_events TO @PREFIX@_worker;
GRANT INSERT ON @DATABASE@.topology_watermarks TO @PREFIX@_worker;
GRANT SELECT, INSERT ON @DATABASE@.window_state TO @PREFIX@_worker;
