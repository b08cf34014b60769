//! Configuration: a YAML file, then environment variables, then command-line
//! flags, each overriding the last.
//!
//! ```text
//! key                              env                                     flag
//! database.url                     SCHEDULER_DATABASE__URL                 --database-url
//! database.host/port/user/...      SCHEDULER_DATABASE__HOST, ...           -
//! database.max_connections         SCHEDULER_DATABASE__MAX_CONNECTIONS     --max-connections
//! api.host                         SCHEDULER_API__HOST                     --host
//! api.port                         SCHEDULER_API__PORT                     --port
//! api.public_url                   SCHEDULER_API__PUBLIC_URL               --public-url
//! api.allow_unauthenticated        SCHEDULER_API__ALLOW_UNAUTHENTICATED    -
//! api.request_timeout              SCHEDULER_API__REQUEST_TIMEOUT          -
//! api.max_connections              SCHEDULER_API__MAX_CONNECTIONS          -
//! api.shutdown_grace               SCHEDULER_API__SHUTDOWN_GRACE           -
//! auth.jwt_secret                  SCHEDULER_AUTH__JWT_SECRET              -
//! executors.access_token           SCHEDULER_EXECUTORS__ACCESS_TOKEN       -
//! executors.deny_networks          (file only: a list)                     -
//! scheduler.instance_id            SCHEDULER_SCHEDULER__INSTANCE_ID        --instance-id
//! scheduler.<other keys>           SCHEDULER_SCHEDULER__<KEY>              -
//! health_check.<keys>              SCHEDULER_HEALTH_CHECK__<KEY>           -
//! history.<keys>                   SCHEDULER_HISTORY__<KEY>                -
//! log.format (text | json)         SCHEDULER_LOG__FORMAT                   --log-format
//! ```
//!
//! Only environment variables with `__` in their name after the prefix are
//! configuration (so `SCHEDULER_TEST_MYSQL_URL` and friends are not mistaken
//! for keys); an unknown key there is an error like an unknown key in the
//! file. Durations are written `500ms`, `30s`, `5m`, `1h`, `1d`, or combined
//! (`1m30s`), and are at most [`MAX_DURATION`] (a year).
//!
//! Environment values of string keys (URLs, secrets, names) are taken byte for
//! byte: `SCHEDULER_AUTH__JWT_SECRET=007` is the secret `007`, quotes included
//! if there are any. Values of numeric and boolean keys are parsed.
//!
//! The `Debug` output of every type here hides secrets (`auth.jwt_secret`,
//! `executors.access_token`, `database.password` and the password of
//! `database.url`), so a configuration can be logged.

use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Prefix of the environment variables read as configuration.
pub const ENV_PREFIX: &str = "SCHEDULER_";
/// Separator of nested keys in environment variable names.
pub const ENV_SEPARATOR: &str = "__";

/// Longest duration any key accepts: a year. Larger values would overflow
/// timers and clock arithmetic.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 86_400);

/// Shortest `auth.jwt_secret`, in bytes: HS256 keys shorter than the hash
/// output are guessable offline from one token.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Largest `api.max_connections`.
pub const MAX_API_CONNECTIONS: usize = 1_000_000;
/// Largest `scheduler.max_workers`.
pub const MAX_WORKERS: usize = 100_000;
/// Largest `database.max_connections`.
pub const MAX_DB_CONNECTIONS: u32 = 10_000;

/// Keys whose environment values are strings, kept exactly as written.
const STRING_KEYS: &[&str] = &[
    "database.url",
    "database.host",
    "database.user",
    "database.password",
    "database.dbname",
    "api.host",
    "api.public_url",
    "auth.jwt_secret",
    "scheduler.instance_id",
    "scheduler.lock_key",
    "executors.access_token",
];

/// Stands in for a secret in `Debug` output.
const REDACTED: &str = "<redacted>";

fn redacted(v: &Option<String>) -> Option<&'static str> {
    v.as_ref().map(|_| REDACTED)
}

/// A configuration that could not be loaded; the message names the key and
/// where its value came from.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl ConfigError {
    fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl From<figment::Error> for ConfigError {
    fn from(e: figment::Error) -> Self {
        // A figment error can carry several; the first one is the one to fix.
        let first = e.into_iter().next();
        match first {
            Some(e) => Self(describe_figment_error(&e)),
            None => Self::new("invalid configuration"),
        }
    }
}

fn describe_figment_error(e: &figment::Error) -> String {
    let key = (!e.path.is_empty()).then(|| e.path.join("."));
    let source = e.metadata.as_ref().map(|md| {
        let name = md.name.to_string();
        match (&md.source, &key) {
            (Some(figment::Source::File(path)), _) => format!("{name} {}", path.display()),
            (_, Some(k)) => {
                let keys: Vec<&str> = k.split('.').collect();
                match md.interpolate(&Profile::Default, &keys) {
                    i if i != *k => format!("{name} {i}"),
                    _ => name,
                }
            }
            _ => name,
        }
    });
    let what = e.kind.to_string();
    match (key, source) {
        (Some(k), Some(s)) => format!("configuration key `{k}` (from {s}): {what}"),
        (Some(k), None) => format!("configuration key `{k}`: {what}"),
        (None, Some(s)) => format!("configuration (from {s}): {what}"),
        (None, None) => format!("configuration: {what}"),
    }
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
    /// HS256 secret of at least [`MIN_JWT_SECRET_BYTES`] bytes; when set
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

/// Largest `history.max_log_bytes`: what a MySQL `MEDIUMTEXT` holds.
pub const MAX_LOG_BYTES: usize = 16 * 1024 * 1024 - 1;

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
    fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
        }
    }
}

/// Values given on the command line; `None` leaves the key alone.
#[derive(Clone, Default)]
pub struct Overrides {
    /// `--host`.
    pub host: Option<String>,
    /// `--port`.
    pub port: Option<u16>,
    /// `--public-url`.
    pub public_url: Option<String>,
    /// `--database-url`.
    pub database_url: Option<String>,
    /// `--max-connections`.
    pub max_connections: Option<u32>,
    /// `--instance-id`.
    pub instance_id: Option<String>,
    /// `--log-format`.
    pub log_format: Option<LogFormat>,
}

impl fmt::Debug for Overrides {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Overrides")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("public_url", &self.public_url)
            .field("database_url", &self.database_url.as_deref().map(redact_url))
            .field("max_connections", &self.max_connections)
            .field("instance_id", &self.instance_id)
            .field("log_format", &self.log_format)
            .finish()
    }
}

impl Overrides {
    fn entries(&self) -> Vec<(&'static str, &'static str, Value)> {
        let mut out = Vec::new();
        let mut push = |key, flag, v: Option<Value>| {
            if let Some(v) = v {
                out.push((key, flag, v));
            }
        };
        push("api.host", "--host", self.host.clone().map(Value::from));
        push("api.port", "--port", self.port.map(Value::from));
        push(
            "api.public_url",
            "--public-url",
            self.public_url.clone().map(Value::from),
        );
        push(
            "database.url",
            "--database-url",
            self.database_url.clone().map(Value::from),
        );
        push(
            "database.max_connections",
            "--max-connections",
            self.max_connections.map(Value::from),
        );
        push(
            "scheduler.instance_id",
            "--instance-id",
            self.instance_id.clone().map(Value::from),
        );
        push(
            "log.format",
            "--log-format",
            self.log_format.map(|f| Value::from(f.as_str().to_owned())),
        );
        out
    }
}

impl Config {
    /// Loads the file (when given), then the `SCHEDULER_*__*` variables of
    /// `env`, then `overrides`, and validates the result.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::new(format!(
                    "configuration file {} does not exist or is not a file",
                    path.display()
                )));
            }
            figment = figment.merge(YamlFile(path.to_owned()));
        }
        figment = figment.merge(EnvLayer::new(env)).merge(FlagLayer(overrides.entries()));
        let config: Config = figment.extract()?;
        config.validate()?;
        Ok(config)
    }

    /// Loads from a YAML string only (tests and tools).
    pub fn from_yaml(yaml: &str) -> Result<Self, ConfigError> {
        let config: Config = Figment::new().merge(YamlString(yaml.to_owned())).extract()?;
        config.validate()?;
        Ok(config)
    }

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
        Ok(())
    }

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
            scheduler_core::hostname()
        } else if bound.is_ipv6() {
            format!("[{}]", bound.ip())
        } else {
            bound.ip().to_string()
        };
        format!("http://{host}:{}", bound.port())
    }
}

/// A duration written as `500ms`, `30s`, `5m`, `1h`, `1d` or a combination (`1m30s`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigDuration(pub Duration);

impl ConfigDuration {
    const fn secs(s: u64) -> Self {
        Self(Duration::from_secs(s))
    }
}

impl fmt::Display for ConfigDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms.is_multiple_of(1000) {
            write!(f, "{}s", ms / 1000)
        } else {
            write!(f, "{ms}ms")
        }
    }
}

impl Serialize for ConfigDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ConfigDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"500ms\", \"30s\", \"5m\" or \"1h\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ConfigDuration, E> {
                let d = parse_duration(v).map_err(E::custom)?;
                if d > MAX_DURATION {
                    return Err(E::custom(format!(
                        "duration {v:?} is too long: at most {}d",
                        MAX_DURATION.as_secs() / 86_400
                    )));
                }
                Ok(ConfigDuration(d))
            }
        }
        d.deserialize_str(V)
    }
}

/// Parses `500ms`, `30s`, `5m`, `1h`, `1d` and combinations like `1m30s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    let bad = || {
        format!("invalid duration {text:?}: expected a number with a unit (ms, s, m, h, d), e.g. \"30s\" or \"500ms\"")
    };
    if s.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = rest[unit_len..].trim_start();
        let part = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => n.checked_mul(60).map(Duration::from_secs).ok_or_else(bad)?,
            "h" => n.checked_mul(3600).map(Duration::from_secs).ok_or_else(bad)?,
            "d" => n.checked_mul(86_400).map(Duration::from_secs).ok_or_else(bad)?,
            _ => return Err(bad()),
        };
        total = total.checked_add(part).ok_or_else(bad)?;
    }
    Ok(total)
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

/// The YAML file, read strictly (a missing file is an error, checked by the caller).
struct YamlFile(PathBuf);

impl Provider for YamlFile {
    fn metadata(&self) -> Metadata {
        Metadata::from("YAML file", self.0.as_path())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let text = std::fs::read_to_string(&self.0)
            .map_err(|e| figment::Error::from(format!("cannot read {}: {e}", self.0.display())))?;
        yaml_dict(&text)
    }
}

/// YAML text given directly.
struct YamlString(String);

impl Provider for YamlString {
    fn metadata(&self) -> Metadata {
        Metadata::named("YAML text")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        yaml_dict(&self.0)
    }
}

// The error type is the one `Provider::data` must return.
#[allow(clippy::result_large_err)]
fn yaml_dict(text: &str) -> Result<Map<Profile, Dict>, figment::Error> {
    use figment::providers::{Format, Yaml};
    // An empty file (or one with only comments) is an empty configuration.
    if text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---"
    }) {
        return Ok(Map::new());
    }
    Yaml::string(text).data()
}

/// `SCHEDULER_SECTION__KEY=value` variables.
struct EnvLayer(Vec<(String, String)>);

impl EnvLayer {
    fn new(env: impl IntoIterator<Item = (String, String)>) -> Self {
        let vars = env
            .into_iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix(ENV_PREFIX)?;
                rest.contains(ENV_SEPARATOR)
                    .then(|| (rest.to_ascii_lowercase().replace(ENV_SEPARATOR, "."), v))
            })
            .collect();
        Self(vars)
    }
}

impl Provider for EnvLayer {
    fn metadata(&self) -> Metadata {
        Metadata::named("environment variable").interpolater(|_: &Profile, keys: &[&str]| {
            format!(
                "{ENV_PREFIX}{}",
                keys.iter()
                    .map(|k| k.to_ascii_uppercase())
                    .collect::<Vec<_>>()
                    .join(ENV_SEPARATOR)
            )
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for (key, value) in &self.0 {
            if key.split('.').any(str::is_empty) {
                return Err(figment::Error::from(format!(
                    "malformed environment variable name {ENV_PREFIX}{}",
                    key.to_ascii_uppercase().replace('.', ENV_SEPARATOR)
                )));
            }
            // String keys keep the text as written (`007` stays `007`, quotes
            // stay); other keys are parsed as YAML-like scalars. Parsing a
            // `Value` never fails (it falls back to a string).
            let v: Value = if STRING_KEYS.contains(&key.as_str()) {
                Value::from(value.clone())
            } else {
                value.parse().unwrap_or_else(|_| Value::from(value.clone()))
            };
            if let Some(nested) = figment::util::nest(key, v).into_dict() {
                dict = merge_dicts(dict, nested);
            }
        }
        Ok(Profile::Default.collect(dict))
    }
}

fn merge_dicts(mut a: Dict, b: Dict) -> Dict {
    for (k, v) in b {
        match (a.remove(&k), v) {
            (Some(Value::Dict(_, x)), Value::Dict(tag, y)) => {
                a.insert(k, Value::Dict(tag, merge_dicts(x, y)));
            }
            (_, v) => {
                a.insert(k, v);
            }
        }
    }
    a
}

/// Command-line flags.
struct FlagLayer(Vec<(&'static str, &'static str, Value)>);

impl Provider for FlagLayer {
    fn metadata(&self) -> Metadata {
        let flags: Vec<(String, String)> = self
            .0
            .iter()
            .map(|(k, f, _)| ((*k).to_owned(), (*f).to_owned()))
            .collect();
        Metadata::named("command-line flag").interpolater(move |_: &Profile, keys: &[&str]| {
            let key = keys.join(".");
            flags
                .iter()
                .find(|(k, _)| *k == key)
                .map_or(key.clone(), |(_, f)| f.clone())
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for (key, _, value) in &self.0 {
            if let Some(nested) = figment::util::nest(key, value.clone()).into_dict() {
                dict = merge_dicts(dict, nested);
            }
        }
        Ok(Profile::Default.collect(dict))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        for bad in ["", "30", "s", "3x", "-1s", "1.5s", "30 s x", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn duration_display_round_trips() {
        for d in ["30s", "500ms", "0s"] {
            let parsed = ConfigDuration(parse_duration(d).unwrap());
            assert_eq!(parsed.to_string(), d);
        }
    }
}
