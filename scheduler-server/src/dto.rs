//! The JSON shapes of the API: request bodies (strict: unknown fields are
//! rejected) and responses (only the contract's fields; the engine's
//! bookkeeping never leaves the server).

use chrono::{DateTime, Utc};
use scheduler_core::{
    DailyStats, Execution, ExecutionStatus, Executor, ExecutorPatch, ExecutorRegistration, ExecutorStatus, JsonObject,
    MisfirePolicy, ModeName, NewTask, StrategyName, SystemStatus, Task, TaskExecutor, TaskExecutorInput, TaskPatch,
    TaskStats, TaskStatus, TriggerType, WindowStats,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use utoipa::ToSchema;

/// The one timestamp format of the API: RFC 3339, UTC, milliseconds, `Z`.
pub const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

/// Formats a timestamp the way the API writes them (`2026-11-24T10:00:00.000Z`).
pub fn format_timestamp(t: &DateTime<Utc>) -> String {
    Timestamp(*t).to_string()
}

/// Writes `YYYY-MM-DDTHH:MM:SS.mmmZ` without going through a format string
/// (responses hold thousands of timestamps); `None` outside years 0..=9999.
fn write_fast(t: &DateTime<Utc>) -> Option<[u8; 24]> {
    use chrono::{Datelike, Timelike};
    let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
    let mut b = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, t.month());
    put(8, 2, t.day());
    put(11, 2, t.hour());
    put(14, 2, t.minute());
    // A leap second is carried by the nanoseconds in chrono: keep it in the seconds field.
    let nanos = t.nanosecond();
    put(17, 2, t.second() + nanos / 1_000_000_000);
    put(20, 3, (nanos % 1_000_000_000) / 1_000_000);
    Some(b)
}

/// Parses any RFC 3339 timestamp into UTC.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A UTC instant, written `YYYY-MM-DDTHH:MM:SS.mmmZ` and read from any RFC 3339 text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Self(t)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match write_fast(&self.0) {
            // The buffer holds ASCII digits and separators only.
            Some(b) => f.write_str(std::str::from_utf8(&b).map_err(|_| fmt::Error)?),
            None => write!(f, "{}", self.0.format(TIMESTAMP_FORMAT)),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp such as \"2026-11-24T10:00:00Z\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                parse_timestamp(v).map(Timestamp).ok_or_else(|| {
                    E::custom(format!(
                        "must be an RFC 3339 timestamp such as \"2026-11-24T10:00:00Z\" (got {v:?})"
                    ))
                })
            }
        }
        d.deserialize_str(V)
    }
}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some(
                "RFC 3339 in UTC with milliseconds on output; any RFC 3339 text on input.",
            ))
            .examples([serde_json::json!("2026-11-24T10:00:00.000Z")])
            .into()
    }
}

impl utoipa::ToSchema for Timestamp {}

fn ts(t: DateTime<Utc>) -> Timestamp {
    Timestamp(t)
}

fn opt_ts(t: Option<DateTime<Utc>>) -> Option<Timestamp> {
    t.map(Timestamp)
}

/// Mirrors a closed enum of the core with a documented, snake_case API twin.
macro_rules! api_enum {
    ($(#[$m:meta])* $name:ident => $core:ident { $($(#[$vm:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        #[schema(as = $core)]
        pub enum $name {
            $($(#[$vm])* $variant),+
        }

        impl From<$core> for $name {
            fn from(v: $core) -> Self {
                match v {
                    $($core::$variant => Self::$variant),+
                }
            }
        }

        impl From<$name> for $core {
            fn from(v: $name) -> Self {
                match v {
                    $($name::$variant => $core::$variant),+
                }
            }
        }
    };
}

api_enum!(
    /// Lifecycle of a task.
    TaskStatusDto => TaskStatus {
        /// Fires on its schedule.
        Active,
        /// Does not fire; can be triggered by hand.
        Paused,
        /// Soft-deleted.
        Deleted,
    }
);

api_enum!(
    /// What to do with instants missed while the scheduler was down.
    MisfirePolicyDto => MisfirePolicy {
        /// Fire once for the latest missed instant.
        FireOnce,
        /// Fire none of them.
        Skip,
    }
);

api_enum!(
    /// Administrative status of an executor.
    ExecutorStatusDto => ExecutorStatus {
        /// Takes dispatches when healthy.
        Online,
        /// Takes none.
        Offline,
        /// Takes none; kept across re-registration.
        Maintenance,
    }
);

api_enum!(
    /// Status of an execution; all but `pending` and `running` are final.
    ExecutionStatusDto => ExecutionStatus {
        /// Waiting for its (next) attempt.
        Pending,
        /// Accepted by an executor.
        Running,
        /// Finished successfully.
        Success,
        /// Failed with no retry left.
        Failed,
        /// Timed out with no retry left.
        Timeout,
        /// Not run because of the `skip` mode.
        Skipped,
        /// Stopped by a user.
        Cancelled,
    }
);

api_enum!(
    /// How an execution started.
    TriggerTypeDto => TriggerType {
        /// A cron instant.
        Schedule,
        /// A manual trigger.
        Manual,
        /// Not written by this implementation (retries reuse the row).
        Retry,
    }
);

// ---- responses ---------------------------------------------------------------

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
    pub trigger_type: TriggerTypeDto,
    /// The cron instant, or the request time of a manual trigger.
    pub scheduled_time: Timestamp,
    /// When the current attempt was accepted.
    pub start_time: Option<Timestamp>,
    /// When it became final.
    pub end_time: Option<Timestamp>,
    /// Status.
    pub status: ExecutionStatusDto,
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
            trigger_type: e.trigger_type.into(),
            scheduled_time: ts(e.scheduled_time),
            start_time: opt_ts(e.start_time),
            end_time: opt_ts(e.end_time),
            status: e.status.into(),
            parameters: e.parameters,
            result: e.result,
            logs: e.logs,
            retry_count: e.retry_count,
            created_at: ts(e.created_at),
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

macro_rules! list_type {
    ($(#[$m:meta])* $name:ident of $item:ty) => {
        $(#[$m])*
        #[derive(Clone, Debug, Serialize, ToSchema)]
        pub struct $name {
            /// This page's rows.
            pub items: Vec<$item>,
            /// Rows matching the filter, all pages.
            pub total: u64,
            /// Page number, from 1.
            pub page: u32,
            /// Rows per page.
            pub page_size: u32,
        }
    };
}

list_type!(
    /// A page of tasks, newest first.
    TaskList of TaskDto
);
list_type!(
    /// A page of executors, newest first.
    ExecutorList of ExecutorDto
);
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

/// Figures of one window.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = WindowStats)]
pub struct WindowStatsDto {
    /// Executions in the window.
    pub total: u64,
    /// `success`.
    pub success: u64,
    /// `failed`.
    pub failed: u64,
    /// `timeout`.
    pub timeout: u64,
    /// `skipped`.
    pub skipped: u64,
    /// `cancelled`.
    pub cancelled: u64,
    /// `success / (success + failed + timeout)`; null when that is 0.
    pub success_rate: Option<f64>,
    /// `timeout / (success + failed + timeout)`; null when that is 0.
    pub timeout_rate: Option<f64>,
    /// Mean duration of finished executions, ms.
    pub avg_duration_ms: Option<f64>,
}

impl From<WindowStats> for WindowStatsDto {
    fn from(w: WindowStats) -> Self {
        Self {
            total: w.total,
            success: w.success,
            failed: w.failed,
            timeout: w.timeout,
            skipped: w.skipped,
            cancelled: w.cancelled,
            success_rate: w.success_rate,
            timeout_rate: w.timeout_rate,
            avg_duration_ms: w.avg_duration_ms,
        }
    }
}

/// One UTC day of the trend.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = DailyStats)]
pub struct DailyStatsDto {
    /// `YYYY-MM-DD`.
    #[schema(example = "2026-11-24")]
    pub date: String,
    /// Executions scheduled that day.
    pub total: u64,
    /// `success`.
    pub success: u64,
    /// `failed`.
    pub failed: u64,
    /// `timeout`.
    pub timeout: u64,
    /// `success / (success + failed + timeout)`; null when that is 0.
    pub success_rate: Option<f64>,
}

impl From<DailyStats> for DailyStatsDto {
    fn from(d: DailyStats) -> Self {
        Self {
            date: d.date.format("%Y-%m-%d").to_string(),
            total: d.total,
            success: d.success,
            failed: d.failed,
            timeout: d.timeout,
            success_rate: d.success_rate,
        }
    }
}

/// Statistics of a task (CONTRACT §2).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = TaskStats)]
pub struct TaskStatsDto {
    /// Last 24 hours.
    #[serde(rename = "24h")]
    #[schema(rename = "24h")]
    pub last_24h: WindowStatsDto,
    /// Last 7 days.
    #[serde(rename = "7d")]
    #[schema(rename = "7d")]
    pub last_7d: WindowStatsDto,
    /// Last 90 days.
    #[serde(rename = "90d")]
    #[schema(rename = "90d")]
    pub last_90d: WindowStatsDto,
    /// `round(100 × (0.7 × success_rate + 0.3 × (1 − timeout_rate)))` over 7 days.
    pub health_score: Option<u32>,
    /// The last 30 UTC days, oldest first.
    pub daily: Vec<DailyStatsDto>,
}

impl From<TaskStats> for TaskStatsDto {
    fn from(s: TaskStats) -> Self {
        Self {
            last_24h: s.last_24h.into(),
            last_7d: s.last_7d.into(),
            last_90d: s.last_90d.into(),
            health_score: s.health_score,
            daily: s.daily.into_iter().map(Into::into).collect(),
        }
    }
}

/// A scheduler instance.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Instance)]
pub struct InstanceDto {
    /// Instance id.
    pub instance_id: String,
    /// Host name.
    pub hostname: String,
    /// Leader at its last heartbeat.
    pub is_leader: bool,
    /// Heartbeat within the last three intervals.
    pub alive: bool,
    /// Start time.
    pub started_at: Timestamp,
    /// Last heartbeat.
    pub last_heartbeat: Timestamp,
}

/// The scheduler part of the system status.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = SchedulerStatus)]
pub struct SchedulerStatusDto {
    /// The instance that answered.
    pub instance_id: String,
    /// Whether it leads.
    pub leader: bool,
    /// Every known instance.
    pub instances: Vec<InstanceDto>,
}

/// Executor counts.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = ExecutorCounts)]
pub struct ExecutorCountsDto {
    /// All executors.
    pub total: u64,
    /// `online`.
    pub online: u64,
    /// `offline`.
    pub offline: u64,
    /// `maintenance`.
    pub maintenance: u64,
    /// Healthy.
    pub healthy: u64,
    /// Unhealthy.
    pub unhealthy: u64,
}

/// Task counts.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = TaskCounts)]
pub struct TaskCountsDto {
    /// Active tasks.
    pub active: u64,
    /// Paused tasks.
    pub paused: u64,
}

/// Execution counts.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = ExecutionCounts)]
pub struct ExecutionCountsDto {
    /// Pending executions.
    pub pending: u64,
    /// Running executions.
    pub running: u64,
}

/// `GET /system/status`.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = SystemStatus)]
pub struct SystemStatusDto {
    /// Leader and instances.
    pub scheduler: SchedulerStatusDto,
    /// Executor counts.
    pub executors: ExecutorCountsDto,
    /// Task counts.
    pub tasks: TaskCountsDto,
    /// Execution counts.
    pub executions: ExecutionCountsDto,
}

impl From<SystemStatus> for SystemStatusDto {
    fn from(s: SystemStatus) -> Self {
        let c = s.counts;
        Self {
            scheduler: SchedulerStatusDto {
                instance_id: s.instance_id,
                leader: s.leader,
                instances: s
                    .instances
                    .into_iter()
                    .map(|i| InstanceDto {
                        instance_id: i.instance_id,
                        hostname: i.hostname,
                        is_leader: i.is_leader,
                        alive: i.alive,
                        started_at: ts(i.started_at),
                        last_heartbeat: ts(i.last_heartbeat),
                    })
                    .collect(),
            },
            executors: ExecutorCountsDto {
                total: c.executors_total,
                online: c.executors_online,
                offline: c.executors_offline,
                maintenance: c.executors_maintenance,
                healthy: c.executors_healthy,
                unhealthy: c.executors_unhealthy,
            },
            tasks: TaskCountsDto {
                active: c.tasks_active,
                paused: c.tasks_paused,
            },
            executions: ExecutionCountsDto {
                pending: c.executions_pending,
                running: c.executions_running,
            },
        }
    }
}

/// Upcoming fire instants of a cron expression.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SchedulePreview {
    /// The next instants, in order.
    pub items: Vec<Timestamp>,
}

/// `/healthz` and `/readyz`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProbeStatus {
    /// `ok` or `unavailable`.
    pub status: String,
}

// ---- requests ----------------------------------------------------------------

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

/// Deserializes a field that may be absent (`None`), `null` (`Some(None)`) or a value.
fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_format_matches_chrono() {
        let samples = [
            "2026-11-24T10:00:00Z",
            "2026-11-24T10:00:00.5Z",
            "1999-01-02T03:04:05.678901+02:00",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
            "2016-12-31T23:59:60.123Z",
        ];
        for s in samples {
            let t = parse_timestamp(s).unwrap();
            assert_eq!(Timestamp(t).to_string(), t.format(TIMESTAMP_FORMAT).to_string(), "{s}");
        }
    }

    #[test]
    fn timestamps_parse_any_rfc3339() {
        let t = parse_timestamp("2026-11-24T12:00:00+02:00").unwrap();
        assert_eq!(format_timestamp(&t), "2026-11-24T10:00:00.000Z");
        assert!(parse_timestamp("2026-11-24").is_none());
        assert!(parse_timestamp("yesterday").is_none());
    }
}
