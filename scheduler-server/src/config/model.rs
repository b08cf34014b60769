//! The configuration's types, their defaults and the `Debug` output that hides
//! secrets.

use super::{ConfigDuration, ConfigError};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// Stands in for a secret in `Debug` output.
const REDACTED: &str = "<redacted>";

fn redacted(v: &Option<String>) -> Option<&'static str> {
    v.as_ref().map(|_| REDACTED)
}

/// The whole configuration.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The MySQL store; absent means the in-memory store.
    pub database: Option<DatabaseConfig>,
    /// The HTTP API.
    pub api: ApiConfig,
    /// Authentication.
    pub auth: AuthConfig,
    /// Engine tunables.
    pub scheduler: SchedulerSection,
    /// Executor health checks.
    pub health_check: HealthCheckConfig,
    /// Requests to executors.
    pub executors: ExecutorsConfig,
    /// How much execution history is kept.
    pub history: HistoryConfigSection,
    /// Logging.
    pub log: LogConfig,
    /// Alert webhooks.
    pub alerts: crate::alerts::AlertsConfig,
}

/// `database.*`.
#[derive(Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `mysql://user:password@host:port/dbname`; wins over the separate keys.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub url: Option<String>,
    /// Host, when the URL is not given.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub host: Option<String>,
    /// Port (3306).
    pub port: u16,
    /// User (`root`).
    #[serde(deserialize_with = "lenient::string")]
    pub user: String,
    /// Password (empty).
    #[serde(deserialize_with = "lenient::opt_string")]
    pub password: Option<String>,
    /// Database name; required with `host`.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub dbname: Option<String>,
    /// Pool size (10).
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            host: None,
            port: 3306,
            user: "root".to_owned(),
            password: None,
            dbname: None,
            max_connections: 10,
        }
    }
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &self.url.as_deref().map(redact_url))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &redacted(&self.password))
            .field("dbname", &self.dbname)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// A URL with its password (if any) replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "<unparsable URL>".to_owned(),
    }
}

impl DatabaseConfig {
    /// The connection URL: `url`, or one built from host/port/user/password/dbname.
    /// `None` when neither is given (the in-memory store is used).
    pub fn effective_url(&self) -> Result<Option<String>, ConfigError> {
        if let Some(url) = self.url.as_deref().filter(|u| !u.trim().is_empty()) {
            return Ok(Some(url.to_owned()));
        }
        let Some(host) = self.host.as_deref().filter(|h| !h.trim().is_empty()) else {
            return Ok(None);
        };
        let dbname = self.dbname.as_deref().filter(|d| !d.is_empty()).ok_or_else(|| {
            ConfigError::new("configuration key `database.dbname`: required when database.host is set")
        })?;
        let mut url = url::Url::parse("mysql://localhost")
            .map_err(|e| ConfigError::new(format!("configuration key `database.host`: {e}")))?;
        url.set_host(Some(host))
            .map_err(|e| ConfigError::new(format!("configuration key `database.host`: {e} ({host:?})")))?;
        // Setting these cannot fail once the URL has a host (checked just above).
        let _ = url.set_port(Some(self.port));
        let _ = url.set_username(&self.user);
        let _ = url.set_password(self.password.as_deref().filter(|p| !p.is_empty()));
        url.set_path(dbname);
        Ok(Some(url.to_string()))
    }
}

/// `api.*`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Address to listen on (`127.0.0.1`).
    #[serde(deserialize_with = "lenient::string")]
    pub host: String,
    /// Port (8080; 0 picks a free one).
    pub port: u16,
    /// Base of the callback URLs given to executors; default `http://{host}:{port}`.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub public_url: Option<String>,
    /// Without `auth.jwt_secret`, listening on an address other than
    /// loopback is refused unless this is `true` (false).
    pub allow_unauthenticated: bool,
    /// A request not answered within this gets 503 (30s).
    pub request_timeout: ConfigDuration,
    /// Connections served at once; more wait to be accepted (1024).
    pub max_connections: usize,
    /// How long shutdown waits for requests in flight (10s).
    pub shutdown_grace: ConfigDuration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 8080,
            public_url: None,
            allow_unauthenticated: false,
            request_timeout: ConfigDuration::secs(30),
            max_connections: 1024,
            shutdown_grace: ConfigDuration::secs(10),
        }
    }
}

impl ApiConfig {
    /// Whether `api.host` names the loopback interface only.
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(&self.host)
    }
}

/// `localhost`, or a loopback IP literal (brackets allowed around IPv6).
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim().trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.to_ascii_lowercase().ends_with(".localhost")
        || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `auth.*`.
#[derive(Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// HS256 secret of at least [`MIN_JWT_SECRET_BYTES`](super::MIN_JWT_SECRET_BYTES) bytes; when set
    /// every `/api/v1` route but the callback needs a JWT.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub jwt_secret: Option<String>,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("jwt_secret", &redacted(&self.jwt_secret))
            .finish()
    }
}

/// `executors.*`: how the scheduler talks to executors.
#[derive(Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExecutorsConfig {
    /// Sent as `X-Scheduler-Token` with every request to an executor
    /// (`/execute`, `/stop`, health probes), so executors can refuse callers
    /// that are not this scheduler.
    #[serde(deserialize_with = "lenient::opt_string")]
    pub access_token: Option<String>,
    /// Networks (CIDRs such as `169.254.0.0/16`, or single addresses) no
    /// request to an executor may go to, checked on the addresses actually
    /// connected to (empty).
    pub deny_networks: Vec<String>,
}

impl fmt::Debug for ExecutorsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecutorsConfig")
            .field("access_token", &redacted(&self.access_token))
            .field("deny_networks", &self.deny_networks)
            .finish()
    }
}

/// `scheduler.*`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerSection {
    /// This instance's id (default: host name and a random suffix).
    #[serde(deserialize_with = "lenient::opt_string")]
    pub instance_id: Option<String>,
    /// Heartbeat period (30s).
    pub heartbeat_interval: ConfigDuration,
    /// Name of the MySQL leader lock.
    #[serde(deserialize_with = "lenient::string")]
    pub lock_key: String,
    /// How long a dead leader's lock may linger (30s).
    pub lock_timeout: ConfigDuration,
    /// Dispatches in flight at once (10).
    pub max_workers: usize,
    /// Later than this, a fire is a misfire (5s).
    pub misfire_threshold: ConfigDuration,
    /// How long an executor has to accept a dispatch (10s).
    pub dispatch_timeout: ConfigDuration,
    /// First retry delay, doubling up to 60 s (1s).
    pub retry_backoff: ConfigDuration,
}

impl Default for SchedulerSection {
    fn default() -> Self {
        Self {
            instance_id: None,
            heartbeat_interval: ConfigDuration::secs(30),
            lock_key: "scheduler_leader_lock".to_owned(),
            lock_timeout: ConfigDuration::secs(30),
            max_workers: 10,
            misfire_threshold: ConfigDuration::secs(5),
            dispatch_timeout: ConfigDuration::secs(10),
            retry_backoff: ConfigDuration::secs(1),
        }
    }
}

/// `history.*` (docs/history.md).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryConfigSection {
    /// Final executions scheduled longer ago are deleted (30d); null keeps them all.
    pub retention: Option<ConfigDuration>,
    /// How often the leader purges (1m).
    pub purge_interval: ConfigDuration,
    /// Most final executions kept in all: absent means the store's default
    /// (1 000 000 in memory, no cap on MySQL), null no cap.
    #[serde(deserialize_with = "present_or_null")]
    pub max_executions: Option<Option<u64>>,
    /// Most bytes of logs an execution keeps (65536).
    pub max_log_bytes: usize,
}

impl Default for HistoryConfigSection {
    fn default() -> Self {
        Self {
            retention: Some(ConfigDuration::secs(30 * 86_400)),
            purge_interval: ConfigDuration::secs(60),
            max_executions: None,
            max_log_bytes: scheduler_core::logs::DEFAULT_MAX_LOG_BYTES,
        }
    }
}

/// A key given as null (`Some(None)`) rather than absent (`None`, the default).
fn present_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    Option::<u64>::deserialize(d).map(Some)
}

/// `health_check.*`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthCheckConfig {
    /// Probe period (30s).
    pub interval: ConfigDuration,
    /// Probe timeout (10s).
    pub timeout: ConfigDuration,
    /// Consecutive failures that make an executor unhealthy (3).
    pub failure_threshold: u32,
    /// Consecutive successes that make it healthy again (2).
    pub recovery_threshold: u32,
}

impl Default for HealthCheckConfig {
    fn default() -> Self {
        Self {
            interval: ConfigDuration::secs(30),
            timeout: ConfigDuration::secs(10),
            failure_threshold: 3,
            recovery_threshold: 2,
        }
    }
}

/// `log.*`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` (default) or `json`. The level comes from `RUST_LOG` (default `info`).
    pub format: LogFormat,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
        }
    }
}

impl Config {
    /// The MySQL URL, or `None` for the in-memory store.
    pub fn database_url(&self) -> Option<String> {
        // Validated by `validate`, so the error branch cannot be taken for a loaded config.
        self.database.as_ref().and_then(|d| d.effective_url().ok().flatten())
    }

    /// The engine's tunables.
    pub fn scheduler_config(&self) -> scheduler_core::SchedulerConfig {
        let s = &self.scheduler;
        let h = &self.health_check;
        scheduler_core::SchedulerConfig {
            heartbeat_interval: s.heartbeat_interval.0,
            max_workers: s.max_workers,
            misfire_threshold: s.misfire_threshold.0,
            dispatch_timeout: s.dispatch_timeout.0,
            retry_backoff: s.retry_backoff.0,
            health_check_interval: h.interval.0,
            health_check_timeout: h.timeout.0,
            health_thresholds: scheduler_core::HealthThresholds {
                failure_threshold: h.failure_threshold,
                recovery_threshold: h.recovery_threshold,
            },
            shutdown_grace: self.api.shutdown_grace.0,
            history: scheduler_core::HistoryConfig {
                retention: self.history.retention.map(|d| d.0),
                purge_interval: self.history.purge_interval.0,
                max_executions: match self.history.max_executions {
                    None => scheduler_core::ExecutionCap::StoreDefault,
                    Some(None) => scheduler_core::ExecutionCap::Unlimited,
                    Some(Some(n)) => scheduler_core::ExecutionCap::AtMost(n),
                },
                ..scheduler_core::HistoryConfig::default()
            },
            ..scheduler_core::SchedulerConfig::default()
        }
    }

    /// Base of callback URLs: `api.public_url`, else `http://{host}:{port}` of
    /// the address actually bound (`bound`), with a wildcard host replaced by
    /// the machine's host name.
    pub fn callback_base(&self, bound: std::net::SocketAddr) -> String {
        if let Some(u) = &self.api.public_url {
            return u.trim_end_matches('/').to_owned();
        }
        let host = if bound.ip().is_unspecified() {
            scheduler_core::internal::hostname()
        } else if bound.is_ipv6() {
            format!("[{}]", bound.ip())
        } else {
            bound.ip().to_string()
        };
        format!("http://{host}:{}", bound.port())
    }
}

/// String fields that also accept a number or a boolean: an environment
/// variable `SCHEDULER_AUTH__JWT_SECRET=123456` is parsed as a number by
/// figment, and is still meant as a string.
mod lenient {
    use serde::Deserializer;
    use serde::de::{self, Visitor};
    use std::fmt;

    struct StringVisitor;

    impl Visitor<'_> for StringVisitor {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i128<E: de::Error>(self, v: i128) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u128<E: de::Error>(self, v: u128) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_char<E: de::Error>(self, v: char) -> Result<String, E> {
            Ok(v.to_string())
        }
    }

    struct OptVisitor;

    impl<'de> Visitor<'de> for OptVisitor {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(StringVisitor).map(Some)
        }
    }

    pub(super) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        d.deserialize_any(StringVisitor)
    }

    pub(super) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_option(OptVisitor)
    }
}
