//! [`SchedulerEvent`]: what happened that an operator wants to hear about —
//! an execution that failed or timed out for good, an executor that went
//! unhealthy or recovered, a change of leader, a misfire.
//!
//! The engine emits each event where its transition happens and hands it to
//! every subscriber of [`Scheduler::subscribe`](crate::Scheduler::subscribe).
//! Subscribers share one bounded buffer: a subscriber that falls behind by
//! more than [`SchedulerConfig::event_capacity`](crate::SchedulerConfig)
//! events loses the oldest and is told how many
//! (`RecvError::Lagged(n)`); the engine never waits for a subscriber.
//!
//! ```text
//! engine ──send (never waits)──▶ [ ring of event_capacity ] ──recv──▶ subscriber A
//!                                                         └──recv──▶ subscriber B (slow: Lagged(n))
//! ```

use crate::domain::{ExecutionId, ExecutorId, TaskId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The kinds of event, as named in the alert payload and in the webhook
/// configuration (`events: [...]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// An execution ended `failed` with no retry left.
    ExecutionFailed,
    /// An execution ended `timeout` with no retry left.
    ExecutionTimeout,
    /// An executor went from healthy to unhealthy.
    ExecutorUnhealthy,
    /// An executor went from unhealthy to healthy.
    ExecutorRecovered,
    /// This instance became the leader, or stopped being it.
    LeaderChanged,
    /// A task's fires were late by more than the misfire threshold: the
    /// missed instants were collapsed into one fire, or skipped.
    Misfire,
}

impl EventKind {
    /// Every kind, in a stable order.
    pub const ALL: [EventKind; 6] = [
        EventKind::ExecutionFailed,
        EventKind::ExecutionTimeout,
        EventKind::ExecutorUnhealthy,
        EventKind::ExecutorRecovered,
        EventKind::LeaderChanged,
        EventKind::Misfire,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ExecutionFailed => "execution_failed",
            EventKind::ExecutionTimeout => "execution_timeout",
            EventKind::ExecutorUnhealthy => "executor_unhealthy",
            EventKind::ExecutorRecovered => "executor_recovered",
            EventKind::LeaderChanged => "leader_changed",
            EventKind::Misfire => "misfire",
        }
    }

    /// The kind named `s`, if any.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an event is about; only the fields that apply are set (and
/// serialized).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventSubject {
    /// The task (execution events, misfire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<TaskId>,
    /// The task's name (execution events, misfire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_name: Option<String>,
    /// The execution (execution events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<ExecutionId>,
    /// The executor (executor events; execution events when one ran it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_id: Option<ExecutorId>,
    /// The scheduler instance (`leader_changed`) or the executor's
    /// registered instance (executor events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
}

/// One event of the scheduler's life.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SchedulerEvent {
    /// What happened.
    pub kind: EventKind,
    /// When (engine clock).
    pub at: DateTime<Utc>,
    /// What it is about.
    pub subject: EventSubject,
    /// One line for a human.
    pub message: String,
}

impl SchedulerEvent {
    /// The suppression key of this event: `(event, task)` for execution
    /// events and misfires, `(event, executor)` for executor events, the
    /// event alone otherwise. At most 100 characters (ids are at most 64).
    pub fn key(&self) -> String {
        let kind = self.kind.as_str();
        match self.kind {
            EventKind::ExecutionFailed | EventKind::ExecutionTimeout | EventKind::Misfire => {
                match &self.subject.task_id {
                    Some(t) => format!("{kind}:task:{t}"),
                    None => kind.to_owned(),
                }
            }
            EventKind::ExecutorUnhealthy | EventKind::ExecutorRecovered => match &self.subject.executor_id {
                Some(x) => format!("{kind}:executor:{x}"),
                None => kind.to_owned(),
            },
            EventKind::LeaderChanged => kind.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::json!(k.as_str()));
        }
        assert_eq!(EventKind::parse("execution_failure"), None);
    }

    #[test]
    fn keys_follow_the_subject() {
        let mut e = SchedulerEvent {
            kind: EventKind::ExecutionFailed,
            at: Utc::now(),
            subject: EventSubject {
                task_id: Some(TaskId::new("t1")),
                executor_id: Some(ExecutorId::new("x1")),
                ..Default::default()
            },
            message: String::new(),
        };
        assert_eq!(e.key(), "execution_failed:task:t1");
        e.kind = EventKind::ExecutorUnhealthy;
        assert_eq!(e.key(), "executor_unhealthy:executor:x1");
        e.kind = EventKind::LeaderChanged;
        assert_eq!(e.key(), "leader_changed");
    }

    #[test]
    fn subject_serializes_only_what_applies() {
        let s = EventSubject {
            instance_id: Some("a".into()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            serde_json::json!({"instance_id": "a"})
        );
    }
}
