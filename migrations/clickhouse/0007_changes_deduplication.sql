-- Insert deduplication for the window changes: the worker names each insert
-- into agg_user_activity_changes with an insert_deduplication_token (the
-- round's offset ranges and a digest of the rows, see
-- src/storage/insert-rows.ts), so an insert that timed out in the client
-- but landed, retried with the same rows, is stored once. The views' target
-- tables deduplicate too: this engine pushes a block to the views even when
-- the source table dropped it, with a token derived from the source's, and
-- only a deduplication window on the target drops it there, so the hour and
-- day rollups are not counted twice. Each window holds 10,000 inserts' tokens.
ALTER TABLE agg_user_activity_changes MODIFY SETTING non_replicated_deduplication_window = 10000;

ALTER TABLE agg_user_activity_1m MODIFY SETTING non_replicated_deduplication_window = 10000;

ALTER TABLE agg_user_activity_1h MODIFY SETTING non_replicated_deduplication_window = 10000;

ALTER TABLE agg_user_activity_1d MODIFY SETTING non_replicated_deduplication_window = 10000;
