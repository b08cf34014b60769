//! Executors: responses and request bodies (registration, update, status).

use super::common::*;
use scheduler_core::{Executor, ExecutorPatch, ExecutorRegistration, JsonObject};
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
    pub status: ExecutorStatusDto,
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
            status: e.status.into(),
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

/// `POST /executors/register`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterExecutorRequest {
    /// Service name (1..=255 characters, not only spaces).
    #[schema(min_length = 1, max_length = 255, pattern = "\\S")]
    pub name: String,
    /// Unique per process; registering it again updates that executor. With
    /// an executor-scoped token, it must be the token's subject.
    #[schema(min_length = 1, max_length = 255)]
    pub instance_id: String,
    /// Absolute http(s) URL (a host name or an IP address, optional port
    /// and path) without user info, query or fragment. URL syntax is checked
    /// by the server, not by this document.
    #[schema(example = "http://10.0.0.5:9000", max_length = 2048)]
    pub base_url: String,
    /// Absolute http(s) URL without user info, query or fragment (checked by
    /// the server); default `{base_url}/health`.
    #[schema(max_length = 2048)]
    pub health_check_url: Option<String>,
    /// Free-form metadata.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<JsonObject>,
}

impl From<RegisterExecutorRequest> for ExecutorRegistration {
    fn from(r: RegisterExecutorRequest) -> Self {
        ExecutorRegistration {
            name: r.name,
            instance_id: r.instance_id,
            base_url: r.base_url,
            health_check_url: r.health_check_url,
            metadata: r.metadata,
        }
    }
}

/// `PUT /executors/{id}`: only the fields given change.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateExecutorRequest {
    /// New name (1..=255 characters, not only spaces).
    #[schema(min_length = 1, max_length = 255, pattern = "\\S")]
    pub name: Option<String>,
    /// New base URL (http(s), no user info, query or fragment; checked by the server).
    #[schema(max_length = 2048)]
    pub base_url: Option<String>,
    /// New health URL (rules of `base_url`); `null` goes back to `{base_url}/health`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 2048)]
    pub health_check_url: Option<Option<String>>,
    /// New metadata; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Option<JsonObject>>,
}

impl From<UpdateExecutorRequest> for ExecutorPatch {
    fn from(r: UpdateExecutorRequest) -> Self {
        ExecutorPatch {
            name: r.name,
            base_url: r.base_url,
            health_check_url: r.health_check_url,
            metadata: r.metadata,
        }
    }
}

/// `PUT /executors/{id}/status`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecutorStatusRequest {
    /// The new status.
    pub status: ExecutorStatusDto,
    /// Why (goes to the log).
    pub reason: Option<String>,
}
