//! Tasks and their executor assignments: responses and request bodies.

use super::common::*;
use scheduler_core::{JsonObject, ModeName, NewTask, StrategyName, Task, TaskExecutor, TaskExecutorInput, TaskPatch};
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
    pub misfire_policy: MisfirePolicyDto,
    /// Lifecycle status.
    pub status: TaskStatusDto,
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
            misfire_policy: t.misfire_policy.into(),
            status: t.status.into(),
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

/// An assignment of an executor to a task.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskExecutorRequest {
    /// The executor (an existing executor's id; an unknown id is a 400).
    #[schema(min_length = 1, max_length = 64)]
    pub executor_id: String,
    /// 1..=1000, default 1.
    #[schema(minimum = 1, maximum = 1000, default = 1)]
    pub weight: Option<i64>,
    /// Default 0; lower is preferred.
    #[schema(default = 0, minimum = -2147483648i64, maximum = 2147483647i64)]
    pub priority: Option<i64>,
}

impl From<TaskExecutorRequest> for TaskExecutorInput {
    fn from(r: TaskExecutorRequest) -> Self {
        Self {
            executor_id: r.executor_id.into(),
            weight: r.weight,
            priority: r.priority,
        }
    }
}

fn inputs(list: Option<Vec<TaskExecutorRequest>>) -> Option<Vec<TaskExecutorInput>> {
    list.map(|l| l.into_iter().map(Into::into).collect())
}

/// `POST /tasks`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTaskRequest {
    /// 1..=255 characters, not only spaces, unique among tasks that are not deleted.
    #[schema(min_length = 1, max_length = 255, pattern = "\\S")]
    pub name: String,
    /// 6 fields with seconds, 5 without, or `@yearly`/`@monthly`/`@weekly`/`@daily`/`@hourly`.
    /// Must be a valid expression that fires at least once (checked by the
    /// server; no schema can express it).
    #[schema(example = "0 */5 * * * *", min_length = 1, max_length = 255)]
    pub cron_expression: String,
    /// IANA zone name, default `UTC` (checked against the zone database by the server).
    #[schema(example = "Europe/Berlin", min_length = 1, max_length = 64)]
    pub timezone: Option<String>,
    /// JSON object, at most 64 KiB serialized and 32 levels of nesting.
    #[schema(value_type = Option<Object>)]
    pub parameters: Option<JsonObject>,
    /// Default `parallel`; `sequential`, `skip`, or a mode the embedding program registered.
    #[schema(example = "parallel", pattern = "^[a-z0-9_]{1,64}$")]
    pub execution_mode: Option<String>,
    /// Default `round_robin`; `weighted_round_robin`, `random`, `sticky`,
    /// `least_loaded`, or a strategy the embedding program registered.
    #[schema(example = "round_robin", pattern = "^[a-z0-9_]{1,64}$")]
    pub load_balance_strategy: Option<String>,
    /// 0..=100, default 3.
    #[schema(minimum = 0, maximum = 100, default = 3)]
    pub max_retry: Option<i64>,
    /// 1..=604800, default 300.
    #[schema(minimum = 1, maximum = 604800, default = 300)]
    pub timeout_seconds: Option<i64>,
    /// Default `fire_once`.
    pub misfire_policy: Option<MisfirePolicyDto>,
    /// `active` (default) or `paused`.
    pub status: Option<TaskStatusDto>,
    /// Executors to assign (each at most once; at most 1000).
    #[schema(max_items = 1000)]
    pub executors: Option<Vec<TaskExecutorRequest>>,
}

impl From<CreateTaskRequest> for NewTask {
    fn from(r: CreateTaskRequest) -> Self {
        NewTask {
            name: r.name,
            cron_expression: r.cron_expression,
            timezone: r.timezone,
            parameters: r.parameters,
            execution_mode: r.execution_mode.map(ModeName::new),
            load_balance_strategy: r.load_balance_strategy.map(StrategyName::new),
            max_retry: r.max_retry,
            timeout_seconds: r.timeout_seconds,
            misfire_policy: r.misfire_policy.map(Into::into),
            status: r.status.map(Into::into),
            executors: inputs(r.executors),
        }
    }
}

/// `PUT /tasks/{id}`: only the fields given change; `id`, `status` and the
/// timestamps cannot be set.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTaskRequest {
    /// New name (1..=255 characters, not only spaces).
    #[schema(min_length = 1, max_length = 255, pattern = "\\S")]
    pub name: Option<String>,
    /// New cron expression (must be valid and fire at least once).
    #[schema(min_length = 1, max_length = 255)]
    pub cron_expression: Option<String>,
    /// New IANA time zone.
    #[schema(min_length = 1, max_length = 64)]
    pub timezone: Option<String>,
    /// New parameters; `null` clears them.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Object>)]
    pub parameters: Option<Option<JsonObject>>,
    /// New execution mode.
    #[schema(pattern = "^[a-z0-9_]{1,64}$")]
    pub execution_mode: Option<String>,
    /// New strategy.
    #[schema(pattern = "^[a-z0-9_]{1,64}$")]
    pub load_balance_strategy: Option<String>,
    /// New `max_retry`.
    #[schema(minimum = 0, maximum = 100)]
    pub max_retry: Option<i64>,
    /// New `timeout_seconds`.
    #[schema(minimum = 1, maximum = 604800)]
    pub timeout_seconds: Option<i64>,
    /// New misfire policy.
    pub misfire_policy: Option<MisfirePolicyDto>,
    /// Replaces the assignments when given (each at most once; at most 1000).
    #[schema(max_items = 1000)]
    pub executors: Option<Vec<TaskExecutorRequest>>,
}

impl From<UpdateTaskRequest> for TaskPatch {
    fn from(r: UpdateTaskRequest) -> Self {
        TaskPatch {
            name: r.name,
            cron_expression: r.cron_expression,
            timezone: r.timezone,
            parameters: r.parameters,
            execution_mode: r.execution_mode.map(ModeName::new),
            load_balance_strategy: r.load_balance_strategy.map(StrategyName::new),
            max_retry: r.max_retry,
            timeout_seconds: r.timeout_seconds,
            misfire_policy: r.misfire_policy.map(Into::into),
            executors: inputs(r.executors),
        }
    }
}

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
    pub executors: Vec<TaskExecutorRequest>,
}

impl SetTaskExecutorsRequest {
    /// The core's input list.
    pub fn into_inputs(self) -> Vec<TaskExecutorInput> {
        self.executors.into_iter().map(Into::into).collect()
    }
}
