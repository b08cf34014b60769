-- claim_fire: MysqlStore::claim_fire in one round trip instead of four
-- (BEGIN, UPDATE, INSERT, COMMIT), the hottest write of the scheduler.
--
-- In one transaction: lock the task row and set its next_run_time if it is
-- still active, then insert the execution with fire_key = scheduled_time. A
-- second claim of the same (task_id, scheduled_time) fails on the unique key
-- uq_task_executions_fire; a missing task on the foreign key. Any error rolls
-- the whole claim back and reaches the caller unchanged (RESIGNAL keeps the
-- server's code and message, which the store maps to AlreadyFired/NotFound).
-- Claims of one task queue on its row lock instead of racing on the unique key.
CREATE PROCEDURE claim_fire(
    IN p_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_task_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_executor_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_trigger_type VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_scheduled_time DATETIME(3),
    IN p_start_time DATETIME(3),
    IN p_end_time DATETIME(3),
    IN p_status VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_parameters LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_result LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_logs MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_retry_count INT UNSIGNED,
    IN p_created_at DATETIME(3),
    IN p_dispatched_at DATETIME(3),
    IN p_next_attempt_at DATETIME(3),
    IN p_timeout_at DATETIME(3),
    IN p_callback_token VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_next_run_time DATETIME(3)
)
MODIFIES SQL DATA
BEGIN
    DECLARE EXIT HANDLER FOR SQLEXCEPTION
    BEGIN
        ROLLBACK;
        RESIGNAL;
    END;
    START TRANSACTION;
    UPDATE tasks SET next_run_time = p_next_run_time WHERE id = p_task_id AND status = 'active';
    INSERT INTO task_executions (id, task_id, executor_id, trigger_type, scheduled_time, fire_key,
        start_time, end_time, status, parameters, result, logs, retry_count, created_at, dispatched_at,
        next_attempt_at, timeout_at, callback_token, row_version)
    VALUES (p_id, p_task_id, p_executor_id, p_trigger_type, p_scheduled_time, p_scheduled_time,
        p_start_time, p_end_time, p_status, p_parameters, p_result, p_logs, p_retry_count, p_created_at,
        p_dispatched_at, p_next_attempt_at, p_timeout_at, p_callback_token, 0);
    COMMIT;
END;
