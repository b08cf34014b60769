//! Executors: responses and the status request. Registering and changing an
//! executor take the core's
//! [`ExecutorRegistration`](scheduler_core::ExecutorRegistration) and
//! [`ExecutorPatch`](scheduler_core::ExecutorPatch) (documented as
//! `RegisterExecutorRequest` and `UpdateExecutorRequest`).

use super::common::*;
use scheduler_core::{Executor, ExecutorStatus, JsonObject};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An executor.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Executor)]
pub struct ExecutorDto {
    /// Generated id.
    pub id: String,
    /// Service name shared by its instances.
    pub name: String,
    /// Unique instance id.
    pub instance_id: String,
    /// Base URL of `/execute`, `/stop`, `/health`.
    pub base_url: String,
    /// Health URL; null means `{base_url}/health`.
    pub health_check_url: Option<String>,
    /// Administrative status.
    pub status: ExecutorStatus,
    /// Health after the failure/recovery thresholds.
    pub is_healthy: bool,
    /// Last probe.
    pub last_health_check: Option<Timestamp>,
    /// Consecutive failed probes.
    pub health_check_failures: u32,
    /// Free-form metadata.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<JsonObject>,
    /// First registration.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

impl From<Executor> for ExecutorDto {
    fn from(e: Executor) -> Self {
        Self {
            id: e.id.into_string(),
            name: e.name,
            instance_id: e.instance_id,
            base_url: e.base_url,
            health_check_url: e.health_check_url,
            status: e.status,
            is_healthy: e.is_healthy,
            last_health_check: opt_ts(e.last_health_check),
            health_check_failures: e.health_check_failures,
            metadata: e.metadata,
            created_at: ts(e.created_at),
            updated_at: ts(e.updated_at),
        }
    }
}

list_type!(
    /// A page of executors, newest first.
    ExecutorList of ExecutorDto
);

/// `PUT /executors/{id}/status`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecutorStatusRequest {
    /// The new status.
    pub status: ExecutorStatus,
    /// Why (goes to the log).
    pub reason: Option<String>,
}
