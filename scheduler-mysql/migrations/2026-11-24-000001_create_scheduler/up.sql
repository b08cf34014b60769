-- Schema of the MySQL/MariaDB store (see scheduler-mysql/src/schema.rs, kept in sync).
--
-- Conventions:
-- * Ids are client-generated UUID v7 strings, VARCHAR(64).
-- * Every instant is UTC in DATETIME(3) (TIMESTAMP cannot hold dates after 2038).
-- * JSON is LONGTEXT checked with JSON_VALID (what MariaDB's JSON type is).
-- * utf8mb4_nopad_bin: names, ids and statuses compare byte for byte, case- and
--   trailing-space-sensitive, like the in-memory store.

CREATE TABLE tasks (
    id VARCHAR(64) NOT NULL,
    name VARCHAR(255) NOT NULL,
    -- The name while the task is not deleted, NULL once it is: the unique index
    -- on it makes names unique among live tasks and frees a deleted task's name.
    live_name VARCHAR(255) AS (CASE WHEN status = 'deleted' THEN NULL ELSE name END) STORED,
    cron_expression VARCHAR(255) NOT NULL,
    timezone VARCHAR(64) NOT NULL,
    parameters LONGTEXT NULL CHECK (parameters IS NULL OR JSON_VALID(parameters)),
    execution_mode VARCHAR(64) NOT NULL,
    load_balance_strategy VARCHAR(64) NOT NULL,
    max_retry INT UNSIGNED NOT NULL,
    timeout_seconds INT UNSIGNED NOT NULL,
    misfire_policy VARCHAR(16) NOT NULL,
    status VARCHAR(16) NOT NULL,
    next_run_time DATETIME(3) NULL,
    created_at DATETIME(3) NOT NULL,
    updated_at DATETIME(3) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_tasks_live_name (live_name),
    KEY ix_tasks_status_name (status, name),
    KEY ix_tasks_updated_at (updated_at),
    KEY ix_tasks_created_at (created_at, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE executors (
    id VARCHAR(64) NOT NULL,
    name VARCHAR(255) NOT NULL,
    instance_id VARCHAR(255) NOT NULL,
    base_url VARCHAR(2048) NOT NULL,
    health_check_url VARCHAR(2048) NULL,
    status VARCHAR(16) NOT NULL,
    is_healthy BOOLEAN NOT NULL,
    last_health_check DATETIME(3) NULL,
    health_check_failures INT UNSIGNED NOT NULL DEFAULT 0,
    health_check_successes INT UNSIGNED NOT NULL DEFAULT 0,
    metadata LONGTEXT NULL CHECK (metadata IS NULL OR JSON_VALID(metadata)),
    created_at DATETIME(3) NOT NULL,
    updated_at DATETIME(3) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_executors_instance_id (instance_id),
    KEY ix_executors_status (status, is_healthy),
    KEY ix_executors_created_at (created_at, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE task_executors (
    task_id VARCHAR(64) NOT NULL,
    executor_id VARCHAR(64) NOT NULL,
    weight INT UNSIGNED NOT NULL DEFAULT 1,
    priority INT NOT NULL DEFAULT 0,
    PRIMARY KEY (task_id, executor_id),
    KEY ix_task_executors_executor (executor_id),
    CONSTRAINT fk_task_executors_task FOREIGN KEY (task_id) REFERENCES tasks (id),
    CONSTRAINT fk_task_executors_executor FOREIGN KEY (executor_id) REFERENCES executors (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE task_executions (
    id VARCHAR(64) NOT NULL,
    task_id VARCHAR(64) NOT NULL,
    -- No foreign key: an execution keeps its history when its executor is
    -- removed (delete_executor nulls this column in the same transaction).
    executor_id VARCHAR(64) NULL,
    trigger_type VARCHAR(16) NOT NULL,
    scheduled_time DATETIME(3) NOT NULL,
    -- scheduled_time for a claimed fire (claim_fire), NULL otherwise: the unique
    -- key (task_id, fire_key) makes a scheduled fire happen once per instant,
    -- and manual triggers (NULL) never collide with it or with each other.
    fire_key DATETIME(3) NULL,
    start_time DATETIME(3) NULL,
    end_time DATETIME(3) NULL,
    status VARCHAR(16) NOT NULL,
    parameters LONGTEXT NULL CHECK (parameters IS NULL OR JSON_VALID(parameters)),
    result LONGTEXT NULL CHECK (result IS NULL OR JSON_VALID(result)),
    logs MEDIUMTEXT NULL,
    retry_count INT UNSIGNED NOT NULL DEFAULT 0,
    created_at DATETIME(3) NOT NULL,
    dispatched_at DATETIME(3) NULL,
    next_attempt_at DATETIME(3) NULL,
    timeout_at DATETIME(3) NULL,
    callback_token VARCHAR(255) NULL,
    -- Bumped by every write: compare-and-set token, so "affected rows" means
    -- the same whether the server counts matched or changed rows.
    row_version BIGINT UNSIGNED NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    UNIQUE KEY uq_task_executions_fire (task_id, fire_key),
    KEY ix_task_executions_task_time (task_id, scheduled_time, id),
    KEY ix_task_executions_task_status (task_id, status),
    KEY ix_task_executions_time (scheduled_time, id),
    KEY ix_task_executions_executor (executor_id, status),
    KEY ix_task_executions_status_timeout (status, timeout_at),
    KEY ix_task_executions_status_next (status, next_attempt_at),
    CONSTRAINT fk_task_executions_task FOREIGN KEY (task_id) REFERENCES tasks (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE load_balance_state (
    task_id VARCHAR(64) NOT NULL,
    strategy VARCHAR(64) NOT NULL,
    state LONGTEXT NOT NULL CHECK (JSON_VALID(state)),
    version BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (task_id, strategy)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE scheduler_instances (
    instance_id VARCHAR(255) NOT NULL,
    hostname VARCHAR(255) NOT NULL,
    is_leader BOOLEAN NOT NULL,
    started_at DATETIME(3) NOT NULL,
    last_heartbeat DATETIME(3) NOT NULL,
    PRIMARY KEY (instance_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;
