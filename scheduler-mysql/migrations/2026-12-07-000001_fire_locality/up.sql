-- Index locality at volume. Every second, every task adds a row to each index
-- led by task_id, and each such row lands at that task's own place in the
-- index: with N tasks firing every second, N scattered leaf pages per index
-- per second, so the whole index becomes the working set. Past what the
-- buffer pool holds (10 000 tasks every second on the default 128 MB) the
-- fire path turned into page reads and flushes and fell behind.
--
-- * The fire uniqueness key is led by the instant instead: the same
--   constraint (one row per task and fire_key), with new entries appended
--   at the end of the index. Its lookups give both columns.
-- * The activity index (task_id, status) held an entry for every row ever
--   written. It is replaced by an index over a virtual column that is the
--   task id while the execution is pending or running and NULL once it is
--   final: the open entries are few and the final ones (NULL, then the
--   time-ordered id) are appended at the end. The activity query reads
--   `open_task_id`.
ALTER TABLE task_executions
    ADD COLUMN open_task_id VARCHAR(64)
        AS (CASE WHEN status IN ('pending', 'running') THEN task_id END) VIRTUAL,
    ADD INDEX ix_task_executions_open (open_task_id, status),
    DROP INDEX ix_task_executions_task_status,
    DROP INDEX uq_task_executions_fire,
    ADD UNIQUE KEY uq_task_executions_fire (fire_key, task_id);
