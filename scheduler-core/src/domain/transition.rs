//! Named transitions of an execution's current attempt: each is the guard
//! the stored row must satisfy and the change written when it does, so a
//! rule is written once and the engine and the stores only apply it.

use super::{Execution, ExecutionChange, ExecutionGuard, ExecutionStatus, ExecutorId};
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

/// Records attempt `retry_count` as sent to `executor_id` at `at`, with its
/// callback token: only a pending execution whose current attempt was not
/// sent yet can take it, so one dispatcher wins. Until `deadline` an answer
/// may come; after it the attempt times out.
pub fn record_attempt(
    retry_count: u32,
    executor_id: &ExecutorId,
    at: DateTime<Utc>,
    deadline: DateTime<Utc>,
    token: String,
) -> (ExecutionGuard, ExecutionChange) {
    let guard = ExecutionGuard::status_in(&[Pending])
        .attempt(retry_count)
        .dispatched(false);
    let change = ExecutionChange {
        executor_id: Some(Some(executor_id.clone())),
        dispatched_at: Some(Some(at)),
        timeout_at: Some(Some(deadline)),
        next_attempt_at: Some(None),
        callback_token: Some(Some(token)),
        ..ExecutionChange::default()
    };
    (guard, change)
}

/// Undoes the record of attempt `retry_count`, which was never sent: the
/// execution is due again at `due`.
pub fn hand_back(retry_count: u32, due: DateTime<Utc>) -> (ExecutionGuard, ExecutionChange) {
    let guard = ExecutionGuard::status_in(&[Pending])
        .attempt(retry_count)
        .dispatched(true);
    let change = ExecutionChange {
        dispatched_at: Some(None),
        timeout_at: Some(None),
        callback_token: Some(None),
        next_attempt_at: Some(Some(due)),
        ..ExecutionChange::default()
    };
    (guard, change)
}

/// The current attempt failed (`reason`) and a retry is left: back to
/// `pending` with the next attempt number, due at `at`.
pub fn retry(exec: &Execution, at: DateTime<Utc>, reason: String) -> (ExecutionGuard, ExecutionChange) {
    let change = ExecutionChange {
        status: Some(Pending),
        retry_count: Some(exec.retry_count + 1),
        start_time: Some(None),
        dispatched_at: Some(None),
        timeout_at: Some(None),
        callback_token: Some(None),
        next_attempt_at: Some(Some(at)),
        append_log: Some(reason),
        ..ExecutionChange::default()
    };
    (attempt_guard(exec), change)
}

/// The current attempt failed or timed out with no retry left: the
/// execution ends in `status` (`failed` or `timeout`).
pub fn give_up(
    exec: &Execution,
    status: ExecutionStatus,
    now: DateTime<Utc>,
    reason: String,
) -> (ExecutionGuard, ExecutionChange) {
    let change = ExecutionChange {
        status: Some(status),
        end_time: Some(Some(now)),
        timeout_at: Some(None),
        append_log: Some(reason),
        ..ExecutionChange::default()
    };
    (attempt_guard(exec), change)
}

/// A user stopped the execution: `cancelled`, whatever attempt it is at.
pub fn stopped(now: DateTime<Utc>) -> (ExecutionGuard, ExecutionChange) {
    (
        ExecutionGuard::status_in(&[Pending, Running]),
        cancelled(now, "stopped by request"),
    )
}

/// A fire prepared ahead of its instant whose task was paused, deleted or
/// rescheduled meanwhile: `cancelled` before its attempt went out.
pub fn cancelled_before_instant(retry_count: u32, now: DateTime<Utc>) -> (ExecutionGuard, ExecutionChange) {
    (
        ExecutionGuard::status_in(&[Pending]).attempt(retry_count),
        cancelled(
            now,
            "cancelled before its instant: the task was paused, deleted or rescheduled",
        ),
    )
}

/// A previous leader sent attempt `exec.retry_count` and no answer was
/// recorded: it is taken as running on its executor (never sent again).
pub fn presumed_running(exec: &Execution) -> (ExecutionGuard, ExecutionChange) {
    let guard = ExecutionGuard::status_in(&[Pending])
        .attempt(exec.retry_count)
        .dispatched(true);
    let change = ExecutionChange {
        status: Some(Running),
        start_time: Some(exec.dispatched_at),
        append_log: Some(format!(
            "attempt {} outcome unknown after a leader change; treated as running",
            exec.retry_count
        )),
        ..ExecutionChange::default()
    };
    (guard, change)
}

/// A progress report (`running`, with `logs`) at `now`: a pending, sent
/// attempt becomes running until `timeout_seconds` later.
pub fn progress(
    exec: &Execution,
    logs: Option<String>,
    now: DateTime<Utc>,
    timeout_seconds: u32,
) -> (ExecutionGuard, ExecutionChange) {
    let mut change = ExecutionChange {
        status: Some(Running),
        append_log: logs,
        ..ExecutionChange::default()
    };
    if exec.status == Pending {
        change.start_time = Some(Some(now));
        change.timeout_at = Some(Some(now + Duration::seconds(timeout_seconds.into())));
    }
    (report_guard(exec), change)
}

/// The guard of a failure or a timeout of `exec`'s current attempt.
fn attempt_guard(exec: &Execution) -> ExecutionGuard {
    ExecutionGuard::status_in(&[Pending, Running]).attempt(exec.retry_count)
}

fn cancelled(now: DateTime<Utc>, why: &str) -> ExecutionChange {
    ExecutionChange {
        status: Some(ExecutionStatus::Cancelled),
        end_time: Some(Some(now)),
        timeout_at: Some(None),
        append_log: Some(why.to_owned()),
        ..ExecutionChange::default()
    }
}

/// Keeps the result an executor reported with a failure (the failure itself
/// then retries or ends the execution).
pub fn failure_result(exec: &Execution, result: Option<serde_json::Value>) -> (ExecutionGuard, ExecutionChange) {
    let change = ExecutionChange {
        result: Some(result),
        ..ExecutionChange::default()
    };
    (report_guard(exec), change)
}
