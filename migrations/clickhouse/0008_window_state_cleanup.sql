-- Deletion markers of window_state are purged: a window gone (closed, past
-- its correction horizon, merged into another session) leaves a row with
-- is_deleted = 1, which FINAL hides but which stayed forever, so a resume
-- read the partition's whole history. Once a part has been left unmerged for
-- an hour, ClickHouse merges the table down to one part with CLEANUP, which
-- drops the markers and every older version of the windows they delete;
-- a resume then reads only live checkpoints.
ALTER TABLE window_state MODIFY SETTING
    allow_experimental_replacing_merge_with_cleanup = 1,
    min_age_to_force_merge_seconds = 3600,
    min_age_to_force_merge_on_partition_only = 1,
    enable_replacing_merge_with_cleanup_for_min_age_to_force_merge = 1;
