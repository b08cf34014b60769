//! Executors: the processes that run executions.

use super::ExecutorId;
use super::task::{JsonObject, double_option};
use super::validation::{ValidationError, check_http_url, check_len};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Administrative status of an executor.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutorStatus {
    /// Takes dispatches (when healthy).
    Online,
    /// Takes none.
    Offline,
    /// Takes none; kept across re-registration.
    Maintenance,
}

impl ExecutorStatus {
    /// The snake_case name used in JSON and SQL.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Offline => "offline",
            Self::Maintenance => "maintenance",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "online" => Self::Online,
            "offline" => Self::Offline,
            "maintenance" => Self::Maintenance,
            _ => return None,
        })
    }
}

/// A stored executor (docs/reference/semantics.md#executors).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Executor {
    /// Generated id.
    pub id: ExecutorId,
    /// Service name shared by its instances.
    pub name: String,
    /// Unique per running process; registering it again updates this executor.
    pub instance_id: String,
    /// Where `/execute`, `/stop` and (by default) `/health` live.
    pub base_url: String,
    /// Health URL; `None` means `{base_url}/health`.
    pub health_check_url: Option<String>,
    /// Administrative status.
    pub status: ExecutorStatus,
    /// Result of the health probes, with the failure/recovery thresholds applied.
    pub is_healthy: bool,
    /// When it was last probed.
    pub last_health_check: Option<DateTime<Utc>>,
    /// Consecutive failed probes.
    pub health_check_failures: u32,
    /// Consecutive successful probes (internal; drives recovery).
    #[serde(default, skip_serializing)]
    pub health_check_successes: u32,
    /// Free-form metadata given at registration.
    pub metadata: Option<JsonObject>,
    /// When it first registered.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Executor {
    /// The URL the health probe calls.
    pub fn health_url(&self) -> String {
        match &self.health_check_url {
            Some(u) => u.clone(),
            None => format!("{}/health", self.base_url.trim_end_matches('/')),
        }
    }

    /// Whether it may receive dispatches (`online` and healthy).
    pub fn is_available(&self) -> bool {
        self.status == ExecutorStatus::Online && self.is_healthy
    }

    /// A first registration at `now`: `online`, healthy, never probed.
    ///
    /// Does not validate: the API goes through
    /// [`ExecutorRegistration::validate`]; the engine's own in-process
    /// executors use this directly.
    pub fn registered(id: ExecutorId, reg: ExecutorRegistration, now: DateTime<Utc>) -> Self {
        Self {
            id,
            name: reg.name,
            instance_id: reg.instance_id,
            base_url: reg.base_url,
            health_check_url: reg.health_check_url,
            status: ExecutorStatus::Online,
            is_healthy: true,
            last_health_check: None,
            health_check_failures: 0,
            health_check_successes: 0,
            metadata: reg.metadata,
            created_at: now,
            updated_at: now,
        }
    }

    /// This executor after an edit: name, URLs, metadata and `updated_at`
    /// come from `edit`; id, instance id, status, health and `created_at`
    /// stay (what `Store::update_executor` writes).
    pub fn edited(&self, edit: &Executor) -> Self {
        Self {
            name: edit.name.clone(),
            base_url: edit.base_url.clone(),
            health_check_url: edit.health_check_url.clone(),
            metadata: edit.metadata.clone(),
            updated_at: edit.updated_at,
            ..self.clone()
        }
    }

    /// This executor after its `instance_id` registers again as `again`
    /// (built by [`Executor::registered`]): the edit of [`Executor::edited`],
    /// `offline` turns `online` (`maintenance` and `online` stay), and health
    /// restarts: healthy, both counters zero. The id, `created_at` and the
    /// time of the last probe stay (what `Store::register_executor` writes).
    pub fn reregistered(&self, again: &Executor) -> Self {
        let mut e = self.edited(again);
        if e.status == ExecutorStatus::Offline {
            e.status = ExecutorStatus::Online;
        }
        e.is_healthy = true;
        e.health_check_failures = 0;
        e.health_check_successes = 0;
        e
    }
}

/// An executor's registration (`POST /executors/register`): registering an
/// `instance_id` again updates that executor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = RegisterExecutorRequest))]
#[serde(deny_unknown_fields)]
pub struct ExecutorRegistration {
    /// Service name (1..=255 characters, not only spaces).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 255, pattern = "\\S"))]
    pub name: String,
    /// Unique per process; registering it again updates that executor. With
    /// an executor-scoped token, it must be the token's subject.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 255))]
    pub instance_id: String,
    /// Absolute http(s) URL (a host name or an IP address, optional port
    /// and path) without user info, query or fragment. URL syntax is checked
    /// by the server, not by this document.
    #[cfg_attr(feature = "openapi", schema(example = "http://10.0.0.5:9000", max_length = 2048))]
    pub base_url: String,
    /// Absolute http(s) URL without user info, query or fragment (checked by
    /// the server); default `{base_url}/health`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2048))]
    pub health_check_url: Option<String>,
    /// Free-form metadata.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<JsonObject>,
}

impl ExecutorRegistration {
    /// Validates the registration and builds the executor it would create.
    pub fn validate(self, id: ExecutorId, now: DateTime<Utc>) -> Result<Executor, ValidationError> {
        let e = Executor::registered(id, self, now);
        validate_executor(&e)?;
        Ok(e)
    }
}

/// A change to an executor (`PUT /executors/{id}`): only the fields given change.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = UpdateExecutorRequest))]
#[serde(deny_unknown_fields)]
pub struct ExecutorPatch {
    /// New name (1..=255 characters, not only spaces).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 255, pattern = "\\S"))]
    pub name: Option<String>,
    /// New base URL (http(s), no user info, query or fragment; checked by the server).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2048))]
    pub base_url: Option<String>,
    /// New health URL (rules of `base_url`); `null` goes back to `{base_url}/health`.
    #[serde(default, with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 2048))]
    pub health_check_url: Option<Option<String>>,
    /// New metadata; `null` clears it.
    #[serde(default, with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<Option<JsonObject>>,
}

impl ExecutorPatch {
    /// Applies the patch to a copy of `e` and validates the result.
    pub fn apply(self, e: &Executor, now: DateTime<Utc>) -> Result<Executor, ValidationError> {
        let mut e = e.clone();
        if let Some(v) = self.name {
            e.name = v;
        }
        if let Some(v) = self.base_url {
            e.base_url = v;
        }
        if let Some(v) = self.health_check_url {
            e.health_check_url = v;
        }
        if let Some(v) = self.metadata {
            e.metadata = v;
        }
        e.updated_at = now;
        validate_executor(&e)?;
        Ok(e)
    }
}

fn validate_executor(e: &Executor) -> Result<(), ValidationError> {
    check_len("name", &e.name, 1, 255)?;
    if super::validation::is_blank(&e.name) {
        return Err(ValidationError::new("name", "must not be blank"));
    }
    check_len("instance_id", &e.instance_id, 1, 255)?;
    check_http_url("base_url", &e.base_url)?;
    if let Some(u) = &e.health_check_url {
        check_http_url("health_check_url", u)?;
    }
    if let Some(m) = &e.metadata {
        super::task::validate_parameters("metadata", Some(m))?;
    }
    Ok(())
}

/// Thresholds that turn probe results into `is_healthy` transitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthThresholds {
    /// Consecutive failures after which `is_healthy` becomes false (default 3).
    pub failure_threshold: u32,
    /// Consecutive successes after which `is_healthy` becomes true again (default 2).
    pub recovery_threshold: u32,
}

impl Default for HealthThresholds {
    fn default() -> Self {
        Self {
            failure_threshold: 3,
            recovery_threshold: 2,
        }
    }
}

impl HealthThresholds {
    /// Applies one probe result to an executor's counters and health flag.
    ///
    /// Stores call this inside their atomic update so every backend agrees.
    pub fn apply(&self, e: &mut Executor, ok: bool, at: DateTime<Utc>) {
        e.last_health_check = Some(at);
        if ok {
            e.health_check_failures = 0;
            e.health_check_successes = e.health_check_successes.saturating_add(1);
            if !e.is_healthy && e.health_check_successes >= self.recovery_threshold.max(1) {
                e.is_healthy = true;
            }
        } else {
            e.health_check_successes = 0;
            e.health_check_failures = e.health_check_failures.saturating_add(1);
            if e.is_healthy && e.health_check_failures >= self.failure_threshold.max(1) {
                e.is_healthy = false;
            }
        }
    }
}
