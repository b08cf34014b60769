//! Counts the store keeps or computes: per-hour finals behind the
//! statistics, the system status, a task's unfinished executions.

use crate::domain::*;
use chrono::{DateTime, Utc};

/// Counts of final executions by status, plus durations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusCounts {
    /// Every final execution.
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
    /// Sum of `end_time - start_time` in ms over final executions that have both.
    pub duration_ms_sum: u64,
    /// Number of executions in `duration_ms_sum`.
    pub duration_count: u64,
}

impl StatusCounts {
    /// Counts one final execution (non-final ones are not counted).
    pub fn add_final(&mut self, e: &Execution) {
        self.add_final_parts(e.status, e.start_time, e.end_time);
    }

    /// [`add_final`](Self::add_final) from the fields it reads.
    pub fn add_final_parts(
        &mut self,
        status: ExecutionStatus,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) {
        let slot = match status {
            ExecutionStatus::Success => &mut self.success,
            ExecutionStatus::Failed => &mut self.failed,
            ExecutionStatus::Timeout => &mut self.timeout,
            ExecutionStatus::Skipped => &mut self.skipped,
            ExecutionStatus::Cancelled => &mut self.cancelled,
            ExecutionStatus::Pending | ExecutionStatus::Running => return,
        };
        *slot += 1;
        self.total += 1;
        if let (Some(a), Some(b)) = (start, end) {
            self.duration_ms_sum += u64::try_from((b - a).num_milliseconds()).unwrap_or(0);
            self.duration_count += 1;
        }
    }

    /// Adds another set of counts.
    pub fn merge(&mut self, c: &StatusCounts) {
        self.total += c.total;
        self.success += c.success;
        self.failed += c.failed;
        self.timeout += c.timeout;
        self.skipped += c.skipped;
        self.cancelled += c.cancelled;
        self.duration_ms_sum += c.duration_ms_sum;
        self.duration_count += c.duration_count;
    }
}

/// Counts for `GET /system/status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SystemCounts {
    /// Executors in total.
    pub executors_total: u64,
    /// `online` executors.
    pub executors_online: u64,
    /// `offline` executors.
    pub executors_offline: u64,
    /// `maintenance` executors.
    pub executors_maintenance: u64,
    /// Healthy executors.
    pub executors_healthy: u64,
    /// Unhealthy executors.
    pub executors_unhealthy: u64,
    /// Active tasks.
    pub tasks_active: u64,
    /// Paused tasks.
    pub tasks_paused: u64,
    /// Pending executions.
    pub executions_pending: u64,
    /// Running executions.
    pub executions_running: u64,
}

/// Non-final executions of one task (what the execution modes look at).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskActivity {
    /// `pending` executions.
    pub pending: u64,
    /// `running` executions.
    pub running: u64,
}

/// The counters of one task and UTC hour of `scheduled_time`, updated in the
/// write that makes an execution final and kept after the execution is purged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HourlyCounts {
    /// The first instant of the hour.
    pub hour: DateTime<Utc>,
    /// Final executions of that hour (`total` counts them all).
    pub counts: StatusCounts,
}
