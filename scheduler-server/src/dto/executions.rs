//! Executions: responses, the page of executions, and the executor callback.

use super::common::*;
use scheduler_core::{Execution, ExecutionStatus, TriggerType};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An execution.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Execution)]
pub struct ExecutionDto {
    /// Generated id.
    pub id: String,
    /// Its task.
    pub task_id: String,
    /// Executor of the current or last attempt.
    pub executor_id: Option<String>,
    /// How it started.
    pub trigger_type: TriggerType,
    /// The cron instant, or the request time of a manual trigger.
    pub scheduled_time: Timestamp,
    /// When the current attempt was accepted.
    pub start_time: Option<Timestamp>,
    /// When it became final.
    pub end_time: Option<Timestamp>,
    /// Status.
    pub status: ExecutionStatus,
    /// Parameters it runs with.
    #[schema(value_type = Option<Object>)]
    pub parameters: Option<serde_json::Value>,
    /// Result from the executor.
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    /// Logs from the executor and the scheduler.
    pub logs: Option<String>,
    /// Attempts after the first.
    pub retry_count: u32,
    /// When it was recorded.
    pub created_at: Timestamp,
}

impl From<Execution> for ExecutionDto {
    fn from(e: Execution) -> Self {
        Self {
            id: e.id.into_string(),
            task_id: e.task_id.into_string(),
            executor_id: e.executor_id.map(|x| x.into_string()),
            trigger_type: e.trigger_type,
            scheduled_time: ts(e.scheduled_time),
            start_time: opt_ts(e.start_time),
            end_time: opt_ts(e.end_time),
            status: e.status,
            parameters: e.parameters,
            result: e.result,
            logs: e.logs,
            retry_count: e.retry_count,
            created_at: ts(e.created_at),
        }
    }
}

/// A page of executions, newest `scheduled_time` first. Items leave
/// `logs` and `result` out (null); `GET /executions/{id}` has them.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ExecutionList {
    /// This page's rows.
    pub items: Vec<ExecutionDto>,
    /// Rows matching the filter, exact up to 10 000; beyond it 10 000.
    pub total: u64,
    /// `total` is 10 000 and more rows match.
    pub total_is_lower_bound: bool,
    /// Page number, from 1; null when the page was asked by `cursor`.
    pub page: Option<u32>,
    /// Rows per page.
    pub page_size: u32,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Status values a callback may report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallbackStatus {
    /// Progress; logs are appended.
    Running,
    /// Finished successfully.
    Success,
    /// Failed (retried while retries are left).
    Failed,
}

impl From<CallbackStatus> for ExecutionStatus {
    fn from(s: CallbackStatus) -> Self {
        match s {
            CallbackStatus::Running => ExecutionStatus::Running,
            CallbackStatus::Success => ExecutionStatus::Success,
            CallbackStatus::Failed => ExecutionStatus::Failed,
        }
    }
}

/// `POST /executions/{id}/callback`, sent with the `X-Callback-Token` header.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackRequest {
    /// `running` (progress), `success` or `failed`.
    pub status: CallbackStatus,
    /// Result payload (any JSON, at most 32 levels of nesting).
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    /// Log text to append.
    pub logs: Option<String>,
    /// When it ended (default: when the callback arrived); not before the
    /// attempt's start and at most 60 s after the server's clock.
    pub end_time: Option<Timestamp>,
}
