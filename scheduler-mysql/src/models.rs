//! Rows as the database returns them, and their conversion to domain types.
//!
//! Instants cross the boundary here: the domain uses `DateTime<Utc>`, the
//! database `DATETIME(3)` holding UTC, which diesel maps to `NaiveDateTime`.
//! Values are truncated to milliseconds on the way in, so what a write returns
//! is exactly what a later read returns.

use crate::schema::{executors, load_balance_state, scheduler_instances, task_executions, task_executors, tasks};
use chrono::{DateTime, NaiveDate, NaiveDateTime, SubsecRound, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Datetime, Integer, Nullable, Text, Unsigned};
use scheduler_core::*;

/// Columns of `tasks` read into [`TaskRow`], in order.
pub(crate) const TASK_COLS: &str = "id, name, cron_expression, timezone, parameters, execution_mode, \
     load_balance_strategy, max_retry, timeout_seconds, misfire_policy, status, next_run_time, created_at, updated_at";

/// Columns of `executors` read into [`ExecutorRow`], in order.
pub(crate) const EXECUTOR_COLS: &str = "id, name, instance_id, base_url, health_check_url, status, is_healthy, \
     last_health_check, health_check_failures, health_check_successes, metadata, created_at, updated_at";

/// [`EXECUTION_COLS`] without `result` and `logs` (lists leave them out).
pub(crate) const EXECUTION_LIST_COLS: &str = "id, task_id, executor_id, trigger_type, scheduled_time, start_time, \
     end_time, status, parameters, NULL AS result, NULL AS logs, retry_count, created_at, dispatched_at, \
     next_attempt_at, timeout_at, callback_token, row_version";

/// Columns of `task_executions` read into [`ExecutionRow`], in order.
pub(crate) const EXECUTION_COLS: &str = "id, task_id, executor_id, trigger_type, scheduled_time, start_time, \
     end_time, status, parameters, result, logs, retry_count, created_at, dispatched_at, next_attempt_at, \
     timeout_at, callback_token, row_version";

/// An instant as stored: UTC, millisecond precision.
pub(crate) fn db_time(t: DateTime<Utc>) -> NaiveDateTime {
    t.trunc_subsecs(3).naive_utc()
}

/// An optional instant as stored.
pub(crate) fn db_time_opt(t: Option<DateTime<Utc>>) -> Option<NaiveDateTime> {
    t.map(db_time)
}

/// A filter bound clamped into `DATETIME`'s range (years 1000 to 9999), so an
/// extreme bound filters as expected instead of failing.
pub(crate) fn db_bound(t: DateTime<Utc>) -> NaiveDateTime {
    let lo = NaiveDate::from_ymd_opt(1000, 1, 1).and_then(|d| d.and_hms_milli_opt(0, 0, 0, 0));
    let hi = NaiveDate::from_ymd_opt(9999, 12, 31).and_then(|d| d.and_hms_milli_opt(23, 59, 59, 999));
    let t = db_time(t);
    match (lo, hi) {
        (Some(lo), _) if t < lo => lo,
        (_, Some(hi)) if t > hi => hi,
        _ => t,
    }
}

/// An instant truncated to what the database keeps.
pub(crate) fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(3)
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Unavailable(format!("unreadable {what} {value:?} in the database"))
}

/// JSON text for a column.
pub(crate) fn json_text<T: serde::Serialize>(v: Option<&T>) -> StoreResult<Option<String>> {
    v.map(|v| serde_json::to_string(v).map_err(|e| StoreError::Conflict(format!("cannot serialize JSON: {e}"))))
        .transpose()
}

fn json_object(s: Option<String>) -> StoreResult<Option<JsonObject>> {
    s.map(|s| serde_json::from_str(&s).map_err(|_| corrupt("JSON object", &s)))
        .transpose()
}

fn json_value(s: Option<String>) -> StoreResult<Option<serde_json::Value>> {
    s.map(|s| serde_json::from_str(&s).map_err(|_| corrupt("JSON value", &s)))
        .transpose()
}

/// A `tasks` row.
#[derive(QueryableByName, Debug)]
#[diesel(table_name = tasks)]
pub(crate) struct TaskRow {
    id: String,
    name: String,
    cron_expression: String,
    timezone: String,
    parameters: Option<String>,
    execution_mode: String,
    load_balance_strategy: String,
    max_retry: u32,
    timeout_seconds: u32,
    misfire_policy: String,
    status: String,
    next_run_time: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl TaskRow {
    pub(crate) fn into_task(self) -> StoreResult<Task> {
        Ok(Task {
            status: TaskStatus::parse(&self.status).ok_or_else(|| corrupt("task status", &self.status))?,
            misfire_policy: MisfirePolicy::parse(&self.misfire_policy)
                .ok_or_else(|| corrupt("misfire policy", &self.misfire_policy))?,
            id: TaskId::new(self.id),
            name: self.name,
            cron_expression: self.cron_expression,
            timezone: self.timezone,
            parameters: json_object(self.parameters)?,
            execution_mode: ModeName::new(self.execution_mode),
            load_balance_strategy: StrategyName::new(self.load_balance_strategy),
            max_retry: self.max_retry,
            timeout_seconds: self.timeout_seconds,
            next_run_time: self.next_run_time.map(utc),
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
        })
    }
}

/// A task as the database stores it.
pub(crate) fn normalize_task(t: &Task) -> Task {
    let mut t = t.clone();
    t.next_run_time = t.next_run_time.map(ms);
    t.created_at = ms(t.created_at);
    t.updated_at = ms(t.updated_at);
    t
}

/// An `executors` row.
#[derive(QueryableByName, Debug)]
#[diesel(table_name = executors)]
pub(crate) struct ExecutorRow {
    id: String,
    name: String,
    instance_id: String,
    base_url: String,
    health_check_url: Option<String>,
    status: String,
    is_healthy: bool,
    last_health_check: Option<NaiveDateTime>,
    health_check_failures: u32,
    health_check_successes: u32,
    metadata: Option<String>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl ExecutorRow {
    pub(crate) fn into_executor(self) -> StoreResult<Executor> {
        Ok(Executor {
            status: ExecutorStatus::parse(&self.status).ok_or_else(|| corrupt("executor status", &self.status))?,
            id: ExecutorId::new(self.id),
            name: self.name,
            instance_id: self.instance_id,
            base_url: self.base_url,
            health_check_url: self.health_check_url,
            is_healthy: self.is_healthy,
            last_health_check: self.last_health_check.map(utc),
            health_check_failures: self.health_check_failures,
            health_check_successes: self.health_check_successes,
            metadata: json_object(self.metadata)?,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
        })
    }
}

/// An executor as the database stores it.
pub(crate) fn normalize_executor(e: &Executor) -> Executor {
    let mut e = e.clone();
    e.last_health_check = e.last_health_check.map(ms);
    e.created_at = ms(e.created_at);
    e.updated_at = ms(e.updated_at);
    e
}

/// A `task_executions` row with its compare-and-set version.
#[derive(QueryableByName, Debug)]
#[diesel(table_name = task_executions)]
pub(crate) struct ExecutionRow {
    id: String,
    task_id: String,
    executor_id: Option<String>,
    trigger_type: String,
    scheduled_time: NaiveDateTime,
    start_time: Option<NaiveDateTime>,
    end_time: Option<NaiveDateTime>,
    status: String,
    parameters: Option<String>,
    result: Option<String>,
    logs: Option<String>,
    retry_count: u32,
    created_at: NaiveDateTime,
    dispatched_at: Option<NaiveDateTime>,
    next_attempt_at: Option<NaiveDateTime>,
    timeout_at: Option<NaiveDateTime>,
    callback_token: Option<String>,
    row_version: u64,
}

impl ExecutionRow {
    /// The execution and its `row_version`.
    pub(crate) fn into_execution(self) -> StoreResult<(Execution, u64)> {
        let e = Execution {
            status: ExecutionStatus::parse(&self.status).ok_or_else(|| corrupt("execution status", &self.status))?,
            trigger_type: TriggerType::parse(&self.trigger_type)
                .ok_or_else(|| corrupt("trigger type", &self.trigger_type))?,
            id: ExecutionId::new(self.id),
            task_id: TaskId::new(self.task_id),
            executor_id: self.executor_id.map(ExecutorId::new),
            scheduled_time: utc(self.scheduled_time),
            start_time: self.start_time.map(utc),
            end_time: self.end_time.map(utc),
            parameters: json_value(self.parameters)?,
            result: json_value(self.result)?,
            logs: self.logs,
            retry_count: self.retry_count,
            created_at: utc(self.created_at),
            dispatched_at: self.dispatched_at.map(utc),
            next_attempt_at: self.next_attempt_at.map(utc),
            timeout_at: self.timeout_at.map(utc),
            callback_token: self.callback_token,
        };
        Ok((e, self.row_version))
    }
}

/// An execution as the database stores it.
pub(crate) fn normalize_execution(e: &Execution) -> Execution {
    let mut e = e.clone();
    e.scheduled_time = ms(e.scheduled_time);
    e.start_time = e.start_time.map(ms);
    e.end_time = e.end_time.map(ms);
    e.created_at = ms(e.created_at);
    e.dispatched_at = e.dispatched_at.map(ms);
    e.next_attempt_at = e.next_attempt_at.map(ms);
    e.timeout_at = e.timeout_at.map(ms);
    e
}

/// A change as the database stores it.
pub(crate) fn normalize_change(c: &ExecutionChange) -> ExecutionChange {
    let mut c = c.clone();
    let t = |v: Option<Option<DateTime<Utc>>>| v.map(|o| o.map(ms));
    c.start_time = t(c.start_time);
    c.end_time = t(c.end_time);
    c.dispatched_at = t(c.dispatched_at);
    c.next_attempt_at = t(c.next_attempt_at);
    c.timeout_at = t(c.timeout_at);
    c
}

/// A `task_executors` row.
#[derive(QueryableByName, Debug)]
#[diesel(table_name = task_executors)]
pub(crate) struct AssignmentRow {
    executor_id: String,
    weight: u32,
    priority: i32,
}

impl AssignmentRow {
    pub(crate) fn into_assignment(self) -> TaskExecutor {
        TaskExecutor {
            executor_id: ExecutorId::new(self.executor_id),
            weight: self.weight,
            priority: self.priority,
        }
    }
}

/// An executor with its assignment to one task, if it has one.
#[derive(QueryableByName, Debug)]
pub(crate) struct CandidateRow {
    #[diesel(embed)]
    executor: ExecutorRow,
    #[diesel(sql_type = Nullable<Unsigned<Integer>>)]
    weight: Option<u32>,
    #[diesel(sql_type = Nullable<Integer>)]
    priority: Option<i32>,
}

impl CandidateRow {
    pub(crate) fn into_candidate(self) -> StoreResult<Candidate> {
        Ok(Candidate {
            executor: std::sync::Arc::new(self.executor.into_executor()?),
            weight: self.weight.unwrap_or(1),
            priority: self.priority.unwrap_or(0),
        })
    }
}

/// A `load_balance_state` row.
#[derive(QueryableByName, Debug)]
#[diesel(table_name = load_balance_state)]
pub(crate) struct LbRow {
    state: String,
    version: u64,
}

impl LbRow {
    pub(crate) fn into_state(self) -> StoreResult<LbState> {
        Ok(LbState {
            value: serde_json::from_str(&self.state).map_err(|_| corrupt("load-balancer state", &self.state))?,
            version: self.version,
        })
    }
}

/// A `scheduler_instances` row.
#[derive(QueryableByName, Debug)]
#[diesel(table_name = scheduler_instances)]
pub(crate) struct InstanceRow {
    instance_id: String,
    hostname: String,
    is_leader: bool,
    started_at: NaiveDateTime,
    last_heartbeat: NaiveDateTime,
}

impl InstanceRow {
    pub(crate) fn into_instance(self) -> SchedulerInstance {
        SchedulerInstance {
            instance_id: self.instance_id,
            hostname: self.hostname,
            is_leader: self.is_leader,
            started_at: utc(self.started_at),
            last_heartbeat: utc(self.last_heartbeat),
        }
    }
}

/// `SELECT CAST(COUNT(*) AS UNSIGNED) AS n`.
#[derive(QueryableByName, Debug)]
pub(crate) struct CountRow {
    #[diesel(sql_type = Unsigned<BigInt>)]
    pub(crate) n: u64,
}

/// `SELECT id` (or another single string column aliased `id`).
#[derive(QueryableByName, Debug)]
pub(crate) struct IdRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub(crate) id: String,
}

/// A task's latest claimed fire.
#[derive(QueryableByName, Debug)]
pub(crate) struct LastFireRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub(crate) task_id: String,
    #[diesel(sql_type = diesel::sql_types::Datetime)]
    pub(crate) at: NaiveDateTime,
}

impl LastFireRow {
    pub(crate) fn into_pair(self) -> (TaskId, DateTime<Utc>) {
        (TaskId::new(self.task_id), utc(self.at))
    }
}

/// An assignment with its task, for the candidates of many tasks.
#[derive(QueryableByName, Debug)]
#[diesel(table_name = task_executors)]
pub(crate) struct TaskAssignmentRow {
    pub(crate) task_id: String,
    executor_id: String,
    weight: u32,
    priority: i32,
}

impl TaskAssignmentRow {
    pub(crate) fn into_assignment(self) -> (TaskId, TaskExecutor) {
        (
            TaskId::new(self.task_id),
            TaskExecutor {
                executor_id: ExecutorId::new(self.executor_id),
                weight: self.weight,
                priority: self.priority,
            },
        )
    }
}

/// One executor's number of running executions.
#[derive(QueryableByName, Debug)]
pub(crate) struct RunningRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub(crate) executor_id: String,
    #[diesel(sql_type = Unsigned<BigInt>)]
    pub(crate) n: u64,
}

/// The counters of one task and hour (`execution_hourly`).
#[derive(QueryableByName, Debug)]
pub(crate) struct HourlyRow {
    #[diesel(sql_type = Datetime)]
    hour: NaiveDateTime,
    #[diesel(sql_type = Unsigned<BigInt>)]
    total: u64,
    #[diesel(sql_type = Unsigned<BigInt>)]
    success: u64,
    #[diesel(sql_type = Unsigned<BigInt>)]
    failed: u64,
    #[diesel(sql_type = Unsigned<BigInt>)]
    timeout: u64,
    #[diesel(sql_type = Unsigned<BigInt>)]
    skipped: u64,
    #[diesel(sql_type = Unsigned<BigInt>)]
    cancelled: u64,
    #[diesel(sql_type = Unsigned<BigInt>)]
    duration_ms_sum: u64,
    #[diesel(sql_type = Unsigned<BigInt>)]
    duration_count: u64,
}

impl From<HourlyRow> for HourlyCounts {
    fn from(r: HourlyRow) -> Self {
        HourlyCounts {
            hour: r.hour.and_utc(),
            counts: StatusCounts {
                total: r.total,
                success: r.success,
                failed: r.failed,
                timeout: r.timeout,
                skipped: r.skipped,
                cancelled: r.cancelled,
                duration_ms_sum: r.duration_ms_sum,
                duration_count: r.duration_count,
            },
        }
    }
}

/// A position in the execution list (`purge_excess_executions`).
#[derive(QueryableByName, Debug)]
pub(crate) struct EdgeRow {
    #[diesel(sql_type = Datetime)]
    pub(crate) at: NaiveDateTime,
    #[diesel(sql_type = Text)]
    pub(crate) id: String,
}

/// The system status counts.
#[derive(QueryableByName, Debug)]
pub(crate) struct SystemRow {
    #[diesel(sql_type = Unsigned<BigInt>)]
    executors_total: u64,
    #[diesel(sql_type = Unsigned<BigInt>)]
    executors_online: u64,
    #[diesel(sql_type = Unsigned<BigInt>)]
    executors_offline: u64,
    #[diesel(sql_type = Unsigned<BigInt>)]
    executors_maintenance: u64,
    #[diesel(sql_type = Unsigned<BigInt>)]
    executors_healthy: u64,
    #[diesel(sql_type = Unsigned<BigInt>)]
    executors_unhealthy: u64,
    #[diesel(sql_type = Unsigned<BigInt>)]
    tasks_active: u64,
    #[diesel(sql_type = Unsigned<BigInt>)]
    tasks_paused: u64,
    #[diesel(sql_type = Unsigned<BigInt>)]
    executions_pending: u64,
    #[diesel(sql_type = Unsigned<BigInt>)]
    executions_running: u64,
}

impl From<SystemRow> for SystemCounts {
    fn from(r: SystemRow) -> Self {
        SystemCounts {
            executors_total: r.executors_total,
            executors_online: r.executors_online,
            executors_offline: r.executors_offline,
            executors_maintenance: r.executors_maintenance,
            executors_healthy: r.executors_healthy,
            executors_unhealthy: r.executors_unhealthy,
            tasks_active: r.tasks_active,
            tasks_paused: r.tasks_paused,
            executions_pending: r.executions_pending,
            executions_running: r.executions_running,
        }
    }
}
