//! Named transitions of an execution's current attempt: each is the guard
//! the stored row must satisfy and the change written when it does, so a
//! rule is written once and the engine and the stores only apply it.

use super::{Execution, ExecutionChange, ExecutionGuard, ExecutionStatus};
use chrono::{DateTime, Duration, Utc};

use ExecutionStatus::{Pending, Running, Success};

/// The guard of any report on `exec`'s current attempt: still pending or
/// running, the same attempt, and (when pending) actually sent.
pub fn report_guard(exec: &Execution) -> ExecutionGuard {
    let guard = ExecutionGuard::status_in(&[Pending, Running]).attempt(exec.retry_count);
    if exec.status == Pending {
        guard.dispatched(true)
    } else {
        guard
    }
}

/// The executor accepted the sent attempt at `now`: `running` until
/// `timeout_seconds` later. Only a pending, sent attempt can be accepted, so
/// a late acceptance never resurrects a stopped execution.
pub fn accepted(exec: &Execution, now: DateTime<Utc>, timeout_seconds: u32) -> (ExecutionGuard, ExecutionChange) {
    let guard = ExecutionGuard::status_in(&[Pending])
        .attempt(exec.retry_count)
        .dispatched(true);
    let change = ExecutionChange {
        status: Some(Running),
        start_time: Some(Some(now)),
        timeout_at: Some(Some(now + Duration::seconds(timeout_seconds.into()))),
        ..ExecutionChange::default()
    };
    (guard, change)
}

/// The attempt succeeded (reported at `now`, ended at `end_time` per the
/// executor): `success`, with its result and logs. The start is the
/// acceptance, or the send for an attempt finished by its reply; the end is
/// never before the start.
pub fn succeeded(
    exec: &Execution,
    result: Option<serde_json::Value>,
    logs: Option<String>,
    end_time: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> (ExecutionGuard, ExecutionChange) {
    let started = exec.start_time.or(exec.dispatched_at).unwrap_or(now);
    let change = ExecutionChange {
        status: Some(Success),
        start_time: Some(Some(started)),
        end_time: Some(Some(end_time.unwrap_or(now).max(started))),
        result: Some(result),
        append_log: logs,
        timeout_at: Some(None),
        ..ExecutionChange::default()
    };
    (report_guard(exec), change)
}
