//! Executions: one row per fire (or manual trigger), retried in place.

use super::{ExecutionId, ExecutorId, TaskId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Status of an execution. `success`, `failed`, `timeout`, `skipped` and
/// `cancelled` are final and never overwritten.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionStatus {
    /// Waiting for its (next) attempt, or sent and not yet acknowledged.
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

impl ExecutionStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [Self; 7] = [
        Self::Pending,
        Self::Running,
        Self::Success,
        Self::Failed,
        Self::Timeout,
        Self::Skipped,
        Self::Cancelled,
    ];

    /// Whether the status is final.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Pending | Self::Running)
    }

    /// The snake_case name used in JSON and SQL.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Success => "success",
            Self::Failed => "failed",
            Self::Timeout => "timeout",
            Self::Skipped => "skipped",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// How an execution started.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerType {
    /// A cron instant.
    Schedule,
    /// `POST /tasks/{id}/trigger` or `Scheduler::trigger`.
    Manual,
    /// Never written by this implementation: retries reuse the row (docs/reference/semantics.md#retries).
    Retry,
}

impl TriggerType {
    /// The snake_case name used in JSON and SQL.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Manual => "manual",
            Self::Retry => "retry",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "schedule" => Self::Schedule,
            "manual" => Self::Manual,
            "retry" => Self::Retry,
            _ => return None,
        })
    }
}

/// A stored execution (docs/reference/semantics.md#execution-statuses-and-transitions), with the
/// engine's bookkeeping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    /// Generated id.
    pub id: ExecutionId,
    /// The task it belongs to.
    pub task_id: TaskId,
    /// The executor of the current (or last) attempt.
    pub executor_id: Option<ExecutorId>,
    /// How it started.
    pub trigger_type: TriggerType,
    /// The cron instant, or the request time of a manual trigger.
    pub scheduled_time: DateTime<Utc>,
    /// When the current attempt was accepted.
    pub start_time: Option<DateTime<Utc>>,
    /// When it reached a final state.
    pub end_time: Option<DateTime<Utc>>,
    /// Status.
    pub status: ExecutionStatus,
    /// Parameters it runs with.
    pub parameters: Option<serde_json::Value>,
    /// Result reported by the executor.
    pub result: Option<serde_json::Value>,
    /// Log lines from the executor and the scheduler.
    pub logs: Option<String>,
    /// Attempts after the first.
    pub retry_count: u32,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// Internal: when the current attempt was recorded as sent. Set means the
    /// executor may have it, so it is never sent again.
    #[serde(default, skip_serializing)]
    pub dispatched_at: Option<DateTime<Utc>>,
    /// Internal: a pending execution is not dispatched before this instant (retry backoff).
    #[serde(default, skip_serializing)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Internal: the current attempt times out at this instant.
    #[serde(default, skip_serializing)]
    pub timeout_at: Option<DateTime<Utc>>,
    /// Internal: the secret the current attempt's executor must show on callbacks.
    #[serde(default, skip_serializing)]
    pub callback_token: Option<String>,
}

impl Execution {
    /// A new `pending` execution of `task_id`, nothing dispatched yet.
    pub fn new_pending(
        task_id: TaskId,
        trigger_type: TriggerType,
        scheduled_time: DateTime<Utc>,
        parameters: Option<serde_json::Value>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: ExecutionId::generate(),
            task_id,
            executor_id: None,
            trigger_type,
            scheduled_time,
            start_time: None,
            end_time: None,
            status: ExecutionStatus::Pending,
            parameters,
            result: None,
            logs: None,
            retry_count: 0,
            created_at: now,
            dispatched_at: None,
            next_attempt_at: None,
            timeout_at: None,
            callback_token: None,
        }
    }
}

/// A set of statuses, as a guard accepts them: a bit per status, so a guard
/// is made without an allocation.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct StatusSet(u8);

impl StatusSet {
    fn bit(status: ExecutionStatus) -> u8 {
        // One bit per variant: `ALL` has seven.
        1 << (status as u8)
    }

    /// Whether `status` is in the set.
    pub fn contains(self, status: ExecutionStatus) -> bool {
        self.0 & Self::bit(status) != 0
    }

    /// Adds `status`.
    pub fn insert(&mut self, status: ExecutionStatus) {
        self.0 |= Self::bit(status);
    }

    /// The statuses in the set, in the order of [`ExecutionStatus::ALL`].
    pub fn iter(self) -> impl Iterator<Item = ExecutionStatus> {
        ExecutionStatus::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl FromIterator<ExecutionStatus> for StatusSet {
    fn from_iter<I: IntoIterator<Item = ExecutionStatus>>(statuses: I) -> Self {
        let mut set = Self::default();
        for s in statuses {
            set.insert(s);
        }
        set
    }
}

impl std::fmt::Debug for StatusSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// A compare-and-set condition for [`Store::update_execution`](crate::Store::update_execution).
///
/// The update applies only when the stored execution's status is one of
/// `status_in`, and, when given, its `retry_count` and dispatched-ness match.
/// A final status never matches, whatever `status_in` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutionGuard {
    /// Accepted current statuses.
    pub status_in: StatusSet,
    /// Required current `retry_count` (the attempt number).
    pub retry_count: Option<u32>,
    /// Required: `Some(true)` the attempt was sent, `Some(false)` not yet.
    pub dispatched: Option<bool>,
}

impl ExecutionGuard {
    /// Any of these statuses.
    pub fn status_in(statuses: &[ExecutionStatus]) -> Self {
        Self {
            status_in: statuses.iter().copied().collect(),
            retry_count: None,
            dispatched: None,
        }
    }

    /// Also require this attempt number.
    pub fn attempt(mut self, retry_count: u32) -> Self {
        self.retry_count = Some(retry_count);
        self
    }

    /// Also require the attempt to have been sent (or not).
    pub fn dispatched(mut self, sent: bool) -> Self {
        self.dispatched = Some(sent);
        self
    }

    /// Whether `e` satisfies the guard.
    pub fn matches(&self, e: &Execution) -> bool {
        self.matches_parts(e.status, e.retry_count, e.dispatched_at.is_some())
    }

    /// [`matches`](Self::matches) from the fields it reads: the status, the
    /// attempt number, and whether the attempt was sent.
    pub fn matches_parts(&self, status: ExecutionStatus, retry_count: u32, dispatched: bool) -> bool {
        !status.is_final()
            && self.status_in.contains(status)
            && self.retry_count.is_none_or(|n| n == retry_count)
            && self.dispatched.is_none_or(|d| d == dispatched)
    }
}

/// The fields a compare-and-set update changes; `None` leaves a field alone.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExecutionChange {
    /// New status.
    pub status: Option<ExecutionStatus>,
    /// New executor.
    pub executor_id: Option<Option<ExecutorId>>,
    /// New start time.
    pub start_time: Option<Option<DateTime<Utc>>>,
    /// New end time.
    pub end_time: Option<Option<DateTime<Utc>>>,
    /// New result.
    pub result: Option<Option<serde_json::Value>>,
    /// A line appended to `logs` (separated from earlier logs by `\n`).
    pub append_log: Option<String>,
    /// New attempt number.
    pub retry_count: Option<u32>,
    /// New sent-marker.
    pub dispatched_at: Option<Option<DateTime<Utc>>>,
    /// New backoff deadline.
    pub next_attempt_at: Option<Option<DateTime<Utc>>>,
    /// New timeout deadline.
    pub timeout_at: Option<Option<DateTime<Utc>>>,
    /// New callback token.
    pub callback_token: Option<Option<String>>,
}

impl ExecutionChange {
    /// Applies the change to `e` in place, logs bounded at the default
    /// `max_log_bytes` (see [`apply_bounded`](Self::apply_bounded)).
    pub fn apply_to(&self, e: &mut Execution) {
        self.apply_bounded(e, super::logs::DEFAULT_MAX_LOG_BYTES);
    }

    /// Applies the change to `e` in place, an appended log line kept within
    /// `max_log_bytes` ([`logs`](super::logs)). The memory store and tests use
    /// this; SQL stores translate it to an `UPDATE`.
    pub fn apply_bounded(&self, e: &mut Execution, max_log_bytes: usize) {
        if let Some(v) = self.status {
            e.status = v;
        }
        if let Some(v) = &self.executor_id {
            e.executor_id = v.clone();
        }
        if let Some(v) = self.start_time {
            e.start_time = v;
        }
        if let Some(v) = self.end_time {
            e.end_time = v;
        }
        if let Some(v) = &self.result {
            e.result = v.clone();
        }
        if let Some(line) = &self.append_log {
            e.logs = Some(super::logs::append_bounded(e.logs.as_deref(), line, max_log_bytes));
        }
        if let Some(v) = self.retry_count {
            e.retry_count = v;
        }
        if let Some(v) = self.dispatched_at {
            e.dispatched_at = v;
        }
        if let Some(v) = self.next_attempt_at {
            e.next_attempt_at = v;
        }
        if let Some(v) = self.timeout_at {
            e.timeout_at = v;
        }
        if let Some(v) = &self.callback_token {
            e.callback_token = v.clone();
        }
    }
}

/// A scheduler process, as written to `scheduler_instances`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulerInstance {
    /// Configured or generated instance id.
    pub instance_id: String,
    /// Host it runs on.
    pub hostname: String,
    /// Whether it held leadership at its last heartbeat.
    pub is_leader: bool,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Its last heartbeat.
    pub last_heartbeat: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ExecutionStatus::*;

    #[test]
    fn a_status_set_holds_each_status_once_in_a_fixed_order() {
        let set: StatusSet = [Running, Pending, Running].into_iter().collect();
        assert!(set.contains(Pending) && set.contains(Running));
        assert!(ExecutionStatus::ALL[2..].iter().all(|s| !set.contains(*s)));
        assert_eq!(set.iter().collect::<Vec<_>>(), [Pending, Running]);
        assert_eq!(set, ExecutionGuard::status_in(&[Pending, Running]).status_in);
        assert_eq!(format!("{set:?}"), "{Pending, Running}");
        let all: StatusSet = ExecutionStatus::ALL.into_iter().collect();
        assert_eq!(all.iter().collect::<Vec<_>>(), ExecutionStatus::ALL);
        assert_eq!(StatusSet::default().iter().count(), 0);
    }
}
