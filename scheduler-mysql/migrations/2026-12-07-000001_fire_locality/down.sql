ALTER TABLE task_executions
    DROP INDEX uq_task_executions_fire,
    ADD UNIQUE KEY uq_task_executions_fire (task_id, fire_key),
    ADD INDEX ix_task_executions_task_status (task_id, status),
    DROP INDEX ix_task_executions_open,
    DROP COLUMN open_task_id;
