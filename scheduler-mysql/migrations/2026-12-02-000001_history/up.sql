-- History at volume (docs/history.md).
--
-- 1. Hourly counters per task and UTC hour of scheduled_time, behind the
--    statistics. Two triggers on task_executions keep them: a row inserted
--    final, or updated from unfinished to final, adds itself to its hour in
--    the same statement, whichever path wrote it (claims, the batched
--    writer, single updates). Deleting executions (retention) leaves the
--    counters alone: statistics survive retention. Kept 400 days.
CREATE TABLE execution_hourly (
    task_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL,
    hour DATETIME NOT NULL,
    total BIGINT UNSIGNED NOT NULL DEFAULT 0,
    success BIGINT UNSIGNED NOT NULL DEFAULT 0,
    failed BIGINT UNSIGNED NOT NULL DEFAULT 0,
    timeout BIGINT UNSIGNED NOT NULL DEFAULT 0,
    skipped BIGINT UNSIGNED NOT NULL DEFAULT 0,
    cancelled BIGINT UNSIGNED NOT NULL DEFAULT 0,
    duration_ms_sum BIGINT UNSIGNED NOT NULL DEFAULT 0,
    duration_count BIGINT UNSIGNED NOT NULL DEFAULT 0,
    PRIMARY KEY (task_id, hour),
    KEY ix_execution_hourly_hour (hour)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

-- Adds one final execution to its hour's counters (the triggers' one body).
CREATE PROCEDURE execution_hourly_add(
    IN p_task_id VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_scheduled_time DATETIME(3),
    IN p_status VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    IN p_start_time DATETIME(3),
    IN p_end_time DATETIME(3)
)
    INSERT INTO execution_hourly (task_id, hour, total, success, failed, timeout, skipped, cancelled,
        duration_ms_sum, duration_count)
    VALUES (p_task_id, DATE_FORMAT(p_scheduled_time, '%Y-%m-%d %H:00:00'), 1,
        p_status = 'success', p_status = 'failed', p_status = 'timeout',
        p_status = 'skipped', p_status = 'cancelled',
        IF(p_start_time IS NULL OR p_end_time IS NULL, 0,
           GREATEST(TIMESTAMPDIFF(MICROSECOND, p_start_time, p_end_time) DIV 1000, 0)),
        p_start_time IS NOT NULL AND p_end_time IS NOT NULL)
    ON DUPLICATE KEY UPDATE total = total + 1,
        success = success + VALUES(success), failed = failed + VALUES(failed),
        timeout = timeout + VALUES(timeout), skipped = skipped + VALUES(skipped),
        cancelled = cancelled + VALUES(cancelled),
        duration_ms_sum = duration_ms_sum + VALUES(duration_ms_sum),
        duration_count = duration_count + VALUES(duration_count);

CREATE TRIGGER execution_final_insert AFTER INSERT ON task_executions FOR EACH ROW
    IF NEW.status NOT IN ('pending', 'running') THEN
        CALL execution_hourly_add(NEW.task_id, NEW.scheduled_time, NEW.status, NEW.start_time, NEW.end_time);
    END IF;

CREATE TRIGGER execution_final_update AFTER UPDATE ON task_executions FOR EACH ROW
    IF NEW.status NOT IN ('pending', 'running') AND OLD.status IN ('pending', 'running') THEN
        CALL execution_hourly_add(NEW.task_id, NEW.scheduled_time, NEW.status, NEW.start_time, NEW.end_time);
    END IF;

-- Back-fill from the executions already final, one day of scheduled_time per
-- statement (each commits on its own: no long transaction, no long lock).
CREATE PROCEDURE execution_hourly_backfill()
BEGIN
    DECLARE d DATETIME;
    DECLARE last DATETIME;
    SELECT DATE(MIN(scheduled_time)), MAX(scheduled_time) INTO d, last FROM task_executions;
    WHILE d IS NOT NULL AND d <= last DO
        INSERT INTO execution_hourly (task_id, hour, total, success, failed, timeout, skipped, cancelled,
            duration_ms_sum, duration_count)
        SELECT task_id, DATE_FORMAT(scheduled_time, '%Y-%m-%d %H:00:00') AS h, COUNT(*),
            SUM(status = 'success'), SUM(status = 'failed'), SUM(status = 'timeout'),
            SUM(status = 'skipped'), SUM(status = 'cancelled'),
            SUM(IF(start_time IS NULL OR end_time IS NULL, 0,
                   GREATEST(TIMESTAMPDIFF(MICROSECOND, start_time, end_time) DIV 1000, 0))),
            SUM(start_time IS NOT NULL AND end_time IS NOT NULL)
        FROM task_executions
        WHERE scheduled_time >= d AND scheduled_time < d + INTERVAL 1 DAY
          AND status NOT IN ('pending', 'running')
        GROUP BY task_id, h
        ON DUPLICATE KEY UPDATE total = total + VALUES(total),
            success = success + VALUES(success), failed = failed + VALUES(failed),
            timeout = timeout + VALUES(timeout), skipped = skipped + VALUES(skipped),
            cancelled = cancelled + VALUES(cancelled),
            duration_ms_sum = duration_ms_sum + VALUES(duration_ms_sum),
            duration_count = duration_count + VALUES(duration_count);
        SET d = d + INTERVAL 1 DAY;
    END WHILE;
END;

CALL execution_hourly_backfill();
DROP PROCEDURE execution_hourly_backfill;

-- 2. Bounded logs: scheduler_log_append(old, line, max) is
--    scheduler_core::domain::logs::append_bounded in SQL, so that appends
--    racing on one row are truncated by the database itself. The cut works
--    on bytes and never splits a UTF-8 character; the marker
--    "[... N bytes truncated]\n" counts every byte dropped so far and is
--    part of the limit.
CREATE FUNCTION scheduler_log_append(
    p_old MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    p_line MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
    p_max INT UNSIGNED
) RETURNS MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin
DETERMINISTIC NO SQL
BEGIN
    DECLARE v_dropped BIGINT UNSIGNED DEFAULT 0;
    DECLARE v_body LONGBLOB;
    DECLARE v_rest LONGBLOB;
    DECLARE v_num LONGBLOB;
    DECLARE v_end BIGINT DEFAULT 0;
    DECLARE v_cut BIGINT DEFAULT 0;
    DECLARE v_want BIGINT DEFAULT 0;
    DECLARE v_budget BIGINT DEFAULT 0;
    DECLARE v_len BIGINT DEFAULT 0;
    IF p_old IS NULL THEN
        SET v_body = CAST(p_line AS BINARY);
    ELSE
        SET v_body = CAST(p_old AS BINARY);
        IF LEFT(v_body, 5) = CAST('[... ' AS BINARY) THEN
            SET v_rest = SUBSTRING(v_body, 6);
            SET v_end = LOCATE(CAST(CONCAT(' bytes truncated]', CHAR(10)) AS BINARY), v_rest);
            IF v_end > 1 THEN
                SET v_num = SUBSTRING(v_rest, 1, v_end - 1);
                IF v_end <= 21 AND CONVERT(v_num USING latin1) REGEXP '^[0-9]+$' THEN
                    SET v_dropped = CAST(CONVERT(v_num USING latin1) AS UNSIGNED);
                    SET v_body = SUBSTRING(v_rest, v_end + 18);
                END IF;
            END IF;
        END IF;
        SET v_body = CONCAT(v_body, CHAR(10 USING binary), CAST(p_line AS BINARY));
    END IF;
    SET v_len = LENGTH(v_body);
    IF v_dropped = 0 AND v_len <= p_max THEN
        RETURN CONVERT(v_body USING utf8mb4);
    END IF;
    cut_loop: LOOP
        SET v_budget = GREATEST(CAST(p_max AS SIGNED) - 23 - LENGTH(CAST(v_dropped + v_cut AS CHAR)), 0);
        SET v_want = GREATEST(v_len - v_budget, v_cut);
        WHILE v_want < v_len AND ASCII(SUBSTRING(v_body, v_want + 1, 1)) BETWEEN 128 AND 191 DO
            SET v_want = v_want + 1;
        END WHILE;
        IF v_want = v_cut THEN
            LEAVE cut_loop;
        END IF;
        SET v_cut = v_want;
    END LOOP cut_loop;
    RETURN CONCAT('[... ', v_dropped + v_cut, ' bytes truncated]', CHAR(10),
                  CONVERT(SUBSTRING(v_body, v_cut + 1) USING utf8mb4));
END;

-- 3. Deep lists by executor: the executor filter reads newest first from an
--    index instead of sorting every row of that executor. (The load
--    balancer's running counts read the status index instead.)
CREATE INDEX ix_task_executions_executor_time ON task_executions (executor_id, scheduled_time, id);
DROP INDEX ix_task_executions_executor ON task_executions;
