-- The due sweep (pending, not sent, due) and recovery (pending, sent) read
-- by status and sent-marker. With only (status, next_attempt_at) the sweep
-- walked every pending row, the thousands claimed ahead of the next instant
-- included, and read each row to test dispatched_at; this index finds just
-- the rows it wants, in due order.
CREATE INDEX ix_task_executions_due ON task_executions (status, dispatched_at, next_attempt_at);
DROP INDEX ix_task_executions_status_next ON task_executions;
