//! Counters, gauges and histograms the engine records through the `metrics`
//! facade. A program that installs no recorder pays almost nothing; the
//! server installs a Prometheus exporter.
//!
//! Every name starts with `chronoflow_` (a bare `scheduler_` prefix collides
//! with kube-scheduler's series in a shared Prometheus), counters end in
//! `_total` and durations are in seconds. [`describe`] gives each one its
//! help text and unit.

use crate::domain::ExecutionStatus;
use metrics::Unit;

/// Fires claimed (label `trigger`: `schedule`, `misfire`).
pub const FIRES: &str = "chronoflow_fires_total";
/// Fires not recorded (label `reason`: `sequential`, `already_fired`, `misfire_skip`, `task_gone`, `store_error`).
pub const FIRES_DROPPED: &str = "chronoflow_fires_dropped_total";
/// Dispatch attempts by `outcome`: `accepted`, `finished`, `refused`, `no_candidate`.
pub const DISPATCHES: &str = "chronoflow_dispatches_total";
/// Seconds from the scheduled instant to the dispatch of its first attempt.
pub const FIRE_LAG: &str = "chronoflow_fire_lag_seconds";
/// Executions that reached a final state, by `status`.
pub const EXECUTIONS_FINISHED: &str = "chronoflow_executions_finished_total";
/// Attempts retried.
pub const RETRIES: &str = "chronoflow_retries_total";
/// Executors currently healthy and online.
pub const EXECUTORS_HEALTHY: &str = "chronoflow_executors_healthy";
/// Fires taken from the timer and not yet started or dropped (the fire
/// path's backlog; bounded by `max_pending_fires`).
pub const FIRE_BACKLOG: &str = "chronoflow_fire_backlog";
/// Execution writes queued for the next batch.
pub const WRITE_BACKLOG: &str = "chronoflow_write_backlog";
/// Final executions deleted by retention (label `reason`: `retention`, `max_executions`).
pub const EXECUTIONS_PURGED: &str = "chronoflow_executions_purged_total";
/// 1 while this instance leads, 0 otherwise.
pub const LEADER: &str = "chronoflow_leader";

/// Registers the help text and unit of every engine metric with the
/// installed recorder, so an exporter can print them (Prometheus `# HELP`).
///
/// [`Scheduler::start`](crate::Scheduler::start) calls it; a program that
/// installs its recorder later may call it again (descriptions are
/// idempotent).
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(FIRES, Unit::Count, "Fires claimed, by trigger (schedule, misfire).");
    describe_counter!(
        FIRES_DROPPED,
        Unit::Count,
        "Fires not run, by reason (sequential, already_fired, misfire_skip, task_gone, store_error)."
    );
    describe_counter!(
        DISPATCHES,
        Unit::Count,
        "Dispatch attempts, by outcome (accepted, finished, refused, no_candidate)."
    );
    describe_histogram!(
        FIRE_LAG,
        Unit::Seconds,
        "Seconds from a fire's scheduled instant to the dispatch of its first attempt."
    );
    describe_counter!(
        EXECUTIONS_FINISHED,
        Unit::Count,
        "Executions that reached a final state, by status."
    );
    describe_counter!(RETRIES, Unit::Count, "Attempts retried.");
    describe_gauge!(
        EXECUTORS_HEALTHY,
        Unit::Count,
        "Executors online and healthy, as the leader last saw them."
    );
    describe_gauge!(
        FIRE_BACKLOG,
        Unit::Count,
        "Fires taken from the timer and not yet started or dropped."
    );
    describe_gauge!(
        WRITE_BACKLOG,
        Unit::Count,
        "Execution writes queued for the next batch."
    );
    describe_counter!(
        EXECUTIONS_PURGED,
        Unit::Count,
        "Final executions deleted, by reason (retention, max_executions)."
    );
    describe_gauge!(LEADER, "1 while this instance is the leader, 0 otherwise.");
}

/// Events counted by key and recorded once per key: one counter update for a
/// block or a batch instead of one per event. A label has few values, so the
/// keys are a short list searched in order.
pub(crate) struct Tally<K>(Vec<(K, u64)>);

impl<K: Copy + PartialEq> Tally<K> {
    pub(crate) fn new() -> Self {
        Self(Vec::new())
    }

    pub(crate) fn add(&mut self, key: K) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => self.0.push((key, 1)),
        }
    }

    /// Records each key's count with `record` (one of the `_n` functions).
    pub(crate) fn record(self, record: impl Fn(K, u64)) {
        for (key, n) in self.0 {
            record(key, n);
        }
    }
}

pub(crate) fn fire(trigger: &'static str) {
    fire_n(trigger, 1);
}

/// `n` fires claimed at once (one counter update for a block).
pub(crate) fn fire_n(trigger: &'static str, n: u64) {
    if n > 0 {
        metrics::counter!(FIRES, "trigger" => trigger).increment(n);
    }
}

pub(crate) fn dropped(reason: &'static str) {
    metrics::counter!(FIRES_DROPPED, "reason" => reason).increment(1);
}

pub(crate) fn dropped_n(reason: &'static str, n: u64) {
    metrics::counter!(FIRES_DROPPED, "reason" => reason).increment(n);
}

pub(crate) fn dispatch(outcome: &'static str) {
    dispatch_n(outcome, 1);
}

/// `n` dispatches with one outcome (one counter update for a block).
pub(crate) fn dispatch_n(outcome: &'static str, n: u64) {
    if n > 0 {
        metrics::counter!(DISPATCHES, "outcome" => outcome).increment(n);
    }
}

pub(crate) fn fire_lag(seconds: f64) {
    metrics::histogram!(FIRE_LAG).record(seconds);
}

pub(crate) fn finished(status: ExecutionStatus) {
    finished_n(status, 1);
}

/// `n` executions that reached `status` (one counter update for a batch).
pub(crate) fn finished_n(status: ExecutionStatus, n: u64) {
    if status.is_final() && n > 0 {
        metrics::counter!(EXECUTIONS_FINISHED, "status" => status.as_str()).increment(n);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_records_each_key_once_with_its_count_in_first_seen_order() {
        let mut t = Tally::new();
        for key in ["schedule", "misfire", "schedule", "schedule", "misfire"] {
            t.add(key);
        }
        let recorded = std::cell::RefCell::new(Vec::new());
        t.record(|k, n| recorded.borrow_mut().push((k, n)));
        assert_eq!(recorded.into_inner(), vec![("schedule", 3), ("misfire", 2)]);
        let empty = std::cell::RefCell::new(Vec::new());
        Tally::<ExecutionStatus>::new().record(|k, n| empty.borrow_mut().push((k, n)));
        assert!(empty.into_inner().is_empty());
    }
}
