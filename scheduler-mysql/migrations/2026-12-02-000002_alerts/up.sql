-- The alert outbox: every alert is written here before anyone tries to
-- deliver it, so a leader that crashes loses none; the next leader delivers
-- what is due. Rows are kept 7 days, delivered or not.
CREATE TABLE alerts (
    id VARCHAR(64) NOT NULL,
    target VARCHAR(2048) NOT NULL,
    event VARCHAR(32) NOT NULL,
    at DATETIME(3) NOT NULL,
    subject TEXT NOT NULL,
    message TEXT NOT NULL,
    suppressed BIGINT UNSIGNED NOT NULL DEFAULT 0,
    delivered BOOLEAN NOT NULL DEFAULT FALSE,
    attempts INT UNSIGNED NOT NULL DEFAULT 0,
    -- NULL once delivered or given up: the deliverer's queue is this index.
    next_attempt_at DATETIME(3) NULL,
    last_error TEXT NULL,
    PRIMARY KEY (id),
    INDEX ix_alerts_at (at, id),
    INDEX ix_alerts_due (next_attempt_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

-- Suppression per (target, key): when the last alert of the key was queued,
-- and how many were held back since. `slot` is a digest of target and key
-- (a URL is too long for a key column).
CREATE TABLE alert_keys (
    slot CHAR(64) NOT NULL,
    last_queued DATETIME(3) NOT NULL,
    held_back BIGINT UNSIGNED NOT NULL DEFAULT 0,
    PRIMARY KEY (slot),
    INDEX ix_alert_keys_last (last_queued)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;
