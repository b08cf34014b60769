//! Counters, gauges and histograms the engine records through the `metrics`
//! facade. A program that installs no recorder pays almost nothing; the
//! server installs a Prometheus exporter.

use crate::domain::ExecutionStatus;

/// Fires claimed (label `trigger`: `schedule`, `misfire`).
pub const FIRES: &str = "scheduler_fires_total";
/// Fires not recorded (label `reason`: `sequential`, `already_fired`, `misfire_skip`, `task_gone`, `store_error`).
pub const FIRES_DROPPED: &str = "scheduler_fires_dropped_total";
/// Dispatch attempts by `outcome`: `accepted`, `finished`, `refused`, `no_candidate`.
pub const DISPATCHES: &str = "scheduler_dispatches_total";
/// Seconds from the scheduled instant to the dispatch of its first attempt.
pub const FIRE_LAG: &str = "scheduler_fire_lag_seconds";
/// Executions that reached a final state, by `status`.
pub const EXECUTIONS_FINISHED: &str = "scheduler_executions_finished_total";
/// Attempts retried.
pub const RETRIES: &str = "scheduler_retries_total";
/// Executors currently healthy and online.
pub const EXECUTORS_HEALTHY: &str = "scheduler_executors_healthy";
/// Fires taken from the timer and not yet started or dropped (the fire
/// path's backlog; bounded by `max_pending_fires`).
pub const FIRE_BACKLOG: &str = "scheduler_fire_backlog";
/// Execution writes queued for the next batch.
pub const WRITE_BACKLOG: &str = "scheduler_write_backlog";
/// Final executions deleted by retention (label `reason`: `retention`, `max_executions`).
pub const EXECUTIONS_PURGED: &str = "scheduler_executions_purged_total";
/// 1 while this instance leads, 0 otherwise.
pub const LEADER: &str = "scheduler_leader";

pub(crate) fn fire(trigger: &'static str) {
    metrics::counter!(FIRES, "trigger" => trigger).increment(1);
}

pub(crate) fn dropped(reason: &'static str) {
    metrics::counter!(FIRES_DROPPED, "reason" => reason).increment(1);
}

pub(crate) fn dropped_n(reason: &'static str, n: u64) {
    metrics::counter!(FIRES_DROPPED, "reason" => reason).increment(n);
}

pub(crate) fn dispatch(outcome: &'static str) {
    metrics::counter!(DISPATCHES, "outcome" => outcome).increment(1);
}

pub(crate) fn fire_lag(seconds: f64) {
    metrics::histogram!(FIRE_LAG).record(seconds);
}

pub(crate) fn finished(status: ExecutionStatus) {
    if status.is_final() {
        metrics::counter!(EXECUTIONS_FINISHED, "status" => status.as_str()).increment(1);
    }
}

pub(crate) fn retry() {
    metrics::counter!(RETRIES).increment(1);
}

pub(crate) fn executors_healthy(n: usize) {
    metrics::gauge!(EXECUTORS_HEALTHY).set(n as f64);
}

pub(crate) fn leader(leading: bool) {
    metrics::gauge!(LEADER).set(if leading { 1.0 } else { 0.0 });
}

pub(crate) fn fire_backlog(n: usize) {
    metrics::gauge!(FIRE_BACKLOG).set(n as f64);
}

pub(crate) fn write_backlog(n: usize) {
    metrics::gauge!(WRITE_BACKLOG).set(n as f64);
}

pub(crate) fn purged(reason: &'static str, n: u64) {
    metrics::counter!(EXECUTIONS_PURGED, "reason" => reason).increment(n);
}
