CREATE INDEX ix_task_executions_status_next ON task_executions (status, next_attempt_at);
DROP INDEX ix_task_executions_due ON task_executions;
