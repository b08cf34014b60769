CREATE INDEX ix_task_executions_executor ON task_executions (executor_id, status);
DROP INDEX ix_task_executions_executor_time ON task_executions;
DROP FUNCTION scheduler_log_append;
DROP TRIGGER execution_final_update;
DROP TRIGGER execution_final_insert;
DROP PROCEDURE execution_hourly_add;
DROP TABLE execution_hourly;
