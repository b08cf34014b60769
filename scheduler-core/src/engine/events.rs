//! Emitting [`SchedulerEvent`]s: the one place events leave the engine, and
//! the watch that turns leadership changes into `leader_changed` events.

use super::Inner;
use crate::domain::{Execution, ExecutionStatus, Executor, Task};
use crate::events::{EventKind, EventSubject, SchedulerEvent};
use chrono::{DateTime, Utc};
use std::sync::Arc;

impl Inner {
    /// Hands `event` to the subscribers; never waits (a full buffer drops the
    /// oldest event for the slowest subscriber).
    pub(crate) fn emit(&self, event: SchedulerEvent) {
        tracing::debug!(event = event.kind.as_str(), message = %event.message, "scheduler event");
        // An error only means nobody subscribes.
        let _ = self.events.send(event);
    }

    /// `execution_failed` or `execution_timeout` for an execution that just
    /// became final in `status` with no retry left.
    pub(crate) fn emit_final(&self, exec: &Execution, task: Option<&Task>, status: ExecutionStatus, reason: &str) {
        let kind = match status {
            ExecutionStatus::Failed => EventKind::ExecutionFailed,
            ExecutionStatus::Timeout => EventKind::ExecutionTimeout,
            _ => return,
        };
        let name = task.map(|t| t.name.as_str()).unwrap_or("?");
        let message = format!(
            "task {name:?}: execution {} ended {} after {} attempt(s): {}",
            exec.id,
            status.as_str(),
            exec.retry_count + 1,
            super::attempt::truncated(reason)
        );
        self.emit(SchedulerEvent {
            kind,
            at: self.now(),
            subject: EventSubject {
                task_id: Some(exec.task_id.clone()),
                task_name: task.map(|t| t.name.clone()),
                execution_id: Some(exec.id.clone()),
                executor_id: exec.executor_id.clone(),
                instance_id: None,
            },
            message,
        });
    }

    /// `executor_unhealthy` or `executor_recovered` when a probe changed
    /// `is_healthy` from `before` to `after.is_healthy`.
    pub(crate) fn emit_health(&self, before: bool, after: &Executor, why: &str) {
        if before == after.is_healthy {
            return;
        }
        let (kind, message) = if after.is_healthy {
            (
                EventKind::ExecutorRecovered,
                format!(
                    "executor {} ({}) is healthy again after {} successful checks",
                    after.name, after.instance_id, after.health_check_successes
                ),
            )
        } else {
            (
                EventKind::ExecutorUnhealthy,
                format!(
                    "executor {} ({}) is unhealthy after {} failed checks: {}",
                    after.name,
                    after.instance_id,
                    after.health_check_failures,
                    super::attempt::truncated(why)
                ),
            )
        };
        self.emit(SchedulerEvent {
            kind,
            at: self.now(),
            subject: EventSubject {
                executor_id: Some(after.id.clone()),
                instance_id: Some(after.instance_id.clone()),
                ..Default::default()
            },
            message,
        });
    }

    /// `misfire` for a task whose instants from `first` to `last` were missed:
    /// `fired` says whether they were collapsed into one fire for `last`, or
    /// skipped.
    pub(crate) fn emit_misfire(&self, task: &Task, first: DateTime<Utc>, last: DateTime<Utc>, fired: bool) {
        let now = self.now();
        let late = (now - first).num_milliseconds() as f64 / 1000.0;
        let range = if first == last {
            format!("the instant {}", fmt(first))
        } else {
            format!("the instants from {} to {}", fmt(first), fmt(last))
        };
        let message = if fired {
            format!(
                "task {:?} missed {range} (late by {late:.1} s); fired once now for {}",
                task.name,
                fmt(last)
            )
        } else {
            format!(
                "task {:?} missed {range} (late by {late:.1} s); skipped, as its misfire policy says",
                task.name
            )
        };
        self.emit(SchedulerEvent {
            kind: EventKind::Misfire,
            at: now,
            subject: EventSubject {
                task_id: Some(task.id.clone()),
                task_name: Some(task.name.clone()),
                ..Default::default()
            },
            message,
        });
    }
}

fn fmt(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Emits `leader_changed` whenever this instance gains or loses leadership,
/// until shutdown.
pub(crate) async fn watch_leadership(inner: Arc<Inner>) {
    let mut rx = inner.leadership.subscribe();
    let mut leading = false;
    loop {
        let now_leading = *rx.borrow_and_update();
        if now_leading != leading {
            leading = now_leading;
            let message = if leading {
                format!("instance {} became the leader", inner.instance_id)
            } else {
                format!("instance {} is no longer the leader", inner.instance_id)
            };
            inner.emit(SchedulerEvent {
                kind: EventKind::LeaderChanged,
                at: inner.now(),
                subject: EventSubject {
                    instance_id: Some(inner.instance_id.clone()),
                    ..Default::default()
                },
                message,
            });
        }
        tokio::select! {
            _ = inner.shutdown.cancelled() => return,
            r = rx.changed() => if r.is_err() { return },
        }
    }
}
