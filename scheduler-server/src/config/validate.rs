//! The rules serde cannot express: ranges, lengths, and keys that only make
//! sense together.

use super::{Config, ConfigError};

/// Shortest `auth.jwt_secret`, in bytes: HS256 keys shorter than the hash
/// output are guessable offline from one token.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Largest `api.max_connections`.
pub const MAX_API_CONNECTIONS: usize = 1_000_000;
/// Largest `scheduler.max_workers`.
pub const MAX_WORKERS: usize = 100_000;
/// Largest `database.max_connections`.
pub const MAX_DB_CONNECTIONS: u32 = 10_000;

/// Largest `history.max_log_bytes`: what a MySQL `MEDIUMTEXT` holds.
pub const MAX_LOG_BYTES: usize = 16 * 1024 * 1024 - 1;

impl Config {
    /// Checks the rules serde cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, rule: &str| Err(ConfigError::new(format!("configuration key `{key}`: {rule}")));
        if let Some(db) = &self.database {
            if !(1..=MAX_DB_CONNECTIONS).contains(&db.max_connections) {
                return bad(
                    "database.max_connections",
                    &format!("must be between 1 and {MAX_DB_CONNECTIONS}"),
                );
            }
            db.effective_url()?;
        }
        if self.api.host.trim().is_empty() {
            return bad("api.host", "must not be empty");
        }
        if let Some(u) = &self.api.public_url {
            match url::Url::parse(u) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {}
                _ => return bad("api.public_url", "must be an absolute http(s) URL"),
            }
        }
        if let Some(secret) = &self.auth.jwt_secret
            && secret.len() < MIN_JWT_SECRET_BYTES
        {
            return bad(
                "auth.jwt_secret",
                &format!(
                    "must be at least {MIN_JWT_SECRET_BYTES} bytes long (got {}); generate one with `openssl rand -base64 48`, or leave the key out to disable authentication",
                    secret.len()
                ),
            );
        }
        if self.auth.jwt_secret.is_none() && !self.api.is_loopback() && !self.api.allow_unauthenticated {
            return bad(
                "api.host",
                &format!(
                    "{:?} is not a loopback address and auth.jwt_secret is not set: anyone who reaches the port could run tasks; set auth.jwt_secret, or api.allow_unauthenticated: true if that is really intended",
                    self.api.host
                ),
            );
        }
        if let Err(e) = crate::deny_networks::DenyNetworks::parse(&self.executors.deny_networks) {
            return bad("executors.deny_networks", &e);
        }
        // Upper bounds keep semaphores and pools constructible (a huge
        // count would panic when the server starts).
        if !(1..=MAX_API_CONNECTIONS).contains(&self.api.max_connections) {
            return bad(
                "api.max_connections",
                &format!("must be between 1 and {MAX_API_CONNECTIONS}"),
            );
        }
        if self
            .executors
            .access_token
            .as_deref()
            .is_some_and(|t| t.is_empty() || !t.bytes().all(|b| b.is_ascii_graphic() || b == b' '))
        {
            return bad(
                "executors.access_token",
                "must be non-empty printable ASCII (it is sent as an HTTP header)",
            );
        }
        let s = &self.scheduler;
        if s.instance_id
            .as_deref()
            .is_some_and(|i| i.trim().is_empty() || i.len() > 255)
        {
            return bad("scheduler.instance_id", "must be 1 to 255 characters long");
        }
        if s.lock_key.is_empty() || s.lock_key.len() > 64 {
            return bad("scheduler.lock_key", "must be 1 to 64 characters long");
        }
        if !(1..=MAX_WORKERS).contains(&s.max_workers) {
            return bad("scheduler.max_workers", &format!("must be between 1 and {MAX_WORKERS}"));
        }
        for (key, d) in [
            ("scheduler.heartbeat_interval", s.heartbeat_interval),
            ("scheduler.lock_timeout", s.lock_timeout),
            ("scheduler.dispatch_timeout", s.dispatch_timeout),
            ("scheduler.retry_backoff", s.retry_backoff),
            ("health_check.interval", self.health_check.interval),
            ("health_check.timeout", self.health_check.timeout),
            ("api.request_timeout", self.api.request_timeout),
            ("history.purge_interval", self.history.purge_interval),
        ] {
            if d.0.is_zero() {
                return bad(key, "must be longer than zero");
            }
        }
        let h = &self.history;
        if h.retention.is_some_and(|r| r.0.is_zero()) {
            return bad("history.retention", "must be longer than zero (null keeps everything)");
        }
        if h.max_executions == Some(Some(0)) {
            return bad("history.max_executions", "must be at least 1 (null means no cap)");
        }
        if !(scheduler_core::logs::MIN_MAX_LOG_BYTES..=MAX_LOG_BYTES).contains(&h.max_log_bytes) {
            return bad(
                "history.max_log_bytes",
                &format!(
                    "must be between {} and {MAX_LOG_BYTES}",
                    scheduler_core::logs::MIN_MAX_LOG_BYTES
                ),
            );
        }
        if self.health_check.failure_threshold == 0 {
            return bad("health_check.failure_threshold", "must be at least 1");
        }
        if self.health_check.recovery_threshold == 0 {
            return bad("health_check.recovery_threshold", "must be at least 1");
        }
        self.alerts.validate().map_err(ConfigError::new)?;
        Ok(())
    }
}
