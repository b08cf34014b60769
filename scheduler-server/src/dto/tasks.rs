//! Tasks and their executor assignments: responses and the request bodies
//! the core has no type for. Creating and changing a task take the core's
//! [`NewTask`](scheduler_core::NewTask) and
//! [`TaskPatch`](scheduler_core::TaskPatch) (documented as
//! `CreateTaskRequest` and `UpdateTaskRequest`).

use super::common::*;
use scheduler_core::{JsonObject, MisfirePolicy, Task, TaskExecutor, TaskExecutorInput, TaskStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A task.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Task)]
pub struct TaskDto {
    /// Generated id.
    pub id: String,
    /// Unique among tasks that are not deleted.
    pub name: String,
    /// Cron expression (5 or 6 fields, or `@daily` etc.).
    #[schema(example = "0 */5 * * * *")]
    pub cron_expression: String,
    /// IANA time zone.
    #[schema(example = "UTC")]
    pub timezone: String,
    /// Parameters sent with every execution.
    #[schema(value_type = Option<Object>)]
    pub parameters: Option<JsonObject>,
    /// `parallel`, `sequential`, `skip`, or a mode registered by the embedding program.
    #[schema(example = "parallel")]
    pub execution_mode: String,
    /// `round_robin`, `weighted_round_robin`, `random`, `sticky`, `least_loaded`, or a registered strategy.
    #[schema(example = "round_robin")]
    pub load_balance_strategy: String,
    /// Attempts allowed after the first.
    pub max_retry: u32,
    /// Seconds an attempt may run.
    pub timeout_seconds: u32,
    /// Misfire policy.
    pub misfire_policy: MisfirePolicy,
    /// Lifecycle status.
    pub status: TaskStatus,
    /// Next fire; null unless active.
    pub next_run_time: Option<Timestamp>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

impl From<Task> for TaskDto {
    fn from(t: Task) -> Self {
        Self {
            id: t.id.into_string(),
            name: t.name,
            cron_expression: t.cron_expression,
            timezone: t.timezone,
            parameters: t.parameters,
            execution_mode: t.execution_mode.as_str().to_owned(),
            load_balance_strategy: t.load_balance_strategy.as_str().to_owned(),
            max_retry: t.max_retry,
            timeout_seconds: t.timeout_seconds,
            misfire_policy: t.misfire_policy,
            status: t.status,
            next_run_time: opt_ts(t.next_run_time),
            created_at: ts(t.created_at),
            updated_at: ts(t.updated_at),
        }
    }
}

/// An executor assigned to a task.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = TaskExecutor)]
pub struct TaskExecutorDto {
    /// The executor.
    pub executor_id: String,
    /// Weight for `weighted_round_robin` (1..=1000).
    pub weight: u32,
    /// Lower is preferred.
    pub priority: i32,
}

impl From<TaskExecutor> for TaskExecutorDto {
    fn from(a: TaskExecutor) -> Self {
        Self {
            executor_id: a.executor_id.into_string(),
            weight: a.weight,
            priority: a.priority,
        }
    }
}

/// A task's assignments.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TaskExecutorList {
    /// By executor id.
    pub items: Vec<TaskExecutorDto>,
}

impl From<Vec<TaskExecutor>> for TaskExecutorList {
    fn from(list: Vec<TaskExecutor>) -> Self {
        Self {
            items: list.into_iter().map(Into::into).collect(),
        }
    }
}

list_type!(
    /// A page of tasks, newest first.
    TaskList of TaskDto
);

/// `POST /tasks/{id}/trigger` (the body is optional).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerRequest {
    /// Shallow-merged over the task's parameters.
    #[schema(value_type = Option<Object>)]
    pub parameters: Option<JsonObject>,
}

/// `PUT /tasks/{id}/executors`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetTaskExecutorsRequest {
    /// The new assignment set (may be empty: every executor may run the
    /// task); each executor at most once, at most 1000.
    #[schema(max_items = 1000)]
    pub executors: Vec<TaskExecutorInput>,
}
