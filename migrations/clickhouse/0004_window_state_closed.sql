-- Windows kept after closing for late corrections (TOPOLOGY_LATE_POLICY=correct)
-- are checkpointed too, marked closed, until their correction horizon has
-- passed: a worker that takes the partition over corrects them as the one
-- before it would have.
ALTER TABLE window_state ADD COLUMN IF NOT EXISTS closed UInt8 DEFAULT 0 AFTER aggregate;
