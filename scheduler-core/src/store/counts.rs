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
        if self.count_status(status)
            && let (Some(a), Some(b)) = (start, end)
        {
            self.add_duration_ms((b - a).num_milliseconds());
        }
    }

    /// [`add_final_parts`](Self::add_final_parts) with the times as
    /// nanoseconds since the epoch (the memory store's rows keep them so).
    pub(crate) fn add_final_nanos(&mut self, status: ExecutionStatus, start_end: Option<(i64, i64)>) {
        if self.count_status(status)
            && let Some((a, b)) = start_end
        {
            // Whole milliseconds toward zero, as `num_milliseconds`.
            let ms = (i128::from(b) - i128::from(a)) / 1_000_000;
            self.add_duration_ms(i64::try_from(ms).unwrap_or(i64::MAX));
        }
    }

    /// Counts one execution in `status`; false (nothing counted) when it is
    /// not final.
    fn count_status(&mut self, status: ExecutionStatus) -> bool {
        let slot = match status {
            ExecutionStatus::Success => &mut self.success,
            ExecutionStatus::Failed => &mut self.failed,
            ExecutionStatus::Timeout => &mut self.timeout,
            ExecutionStatus::Skipped => &mut self.skipped,
            ExecutionStatus::Cancelled => &mut self.cancelled,
            ExecutionStatus::Pending | ExecutionStatus::Running => return false,
        };
        *slot += 1;
        self.total += 1;
        true
    }

    /// Adds one duration (a negative one counts as zero).
    fn add_duration_ms(&mut self, ms: i64) {
        self.duration_ms_sum += u64::try_from(ms).unwrap_or(0);
        self.duration_count += 1;
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    /// The memory store counts from nanoseconds: the same counts as from
    /// the times, for sub-millisecond, negative and missing durations.
    #[test]
    fn counting_from_nanoseconds_matches_counting_from_times() {
        let t0 = DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z").unwrap().to_utc();
        let cases = [
            (ExecutionStatus::Success, Some(Duration::microseconds(1_500))),
            (ExecutionStatus::Failed, Some(Duration::microseconds(999))),
            (ExecutionStatus::Timeout, Some(Duration::seconds(-3))),
            (ExecutionStatus::Cancelled, Some(Duration::microseconds(-400))),
            (ExecutionStatus::Skipped, None),
            (ExecutionStatus::Running, Some(Duration::seconds(1))),
        ];
        let (mut from_times, mut from_nanos) = (StatusCounts::default(), StatusCounts::default());
        for (status, took) in cases {
            let end = took.map(|d| t0 + d);
            from_times.add_final_parts(status, Some(t0), end);
            let nanos = |t: DateTime<Utc>| t.timestamp_nanos_opt().unwrap();
            from_nanos.add_final_nanos(status, end.map(|e| (nanos(t0), nanos(e))));
        }
        assert_eq!(from_times, from_nanos);
        assert_eq!(
            (from_nanos.total, from_nanos.duration_count, from_nanos.duration_ms_sum),
            (5, 4, 1)
        );
    }
}
