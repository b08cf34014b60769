//! [`StoreError`]: what can go wrong in a store.

use crate::domain::*;
use chrono::{DateTime, Utc};

/// What can go wrong in a store. Each variant names a situation, not a library.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No such row.
    #[error("{kind} {id} not found")]
    NotFound {
        /// `task`, `executor` or `execution`.
        kind: &'static str,
        /// The id that was looked up.
        id: String,
    },
    /// Another task that is not deleted already has this name.
    #[error("a task named {0:?} already exists")]
    NameTaken(String),
    /// Another executor already has this instance id.
    #[error("instance_id {0:?} is registered to another executor")]
    InstanceTaken(String),
    /// A scheduled execution for this `(task_id, scheduled_time)` already exists.
    #[error("task {task_id} already fired for {scheduled_time}")]
    AlreadyFired {
        /// The task.
        task_id: TaskId,
        /// The instant.
        scheduled_time: DateTime<Utc>,
    },
    /// The row is not in a state that allows the change (a deleted task, a
    /// final execution, a compare-and-set that lost, a stale version).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backend refused a value for good (too long, out of range, not a
    /// valid date): the caller's input, never worth retrying.
    #[error("the store refused a value: {0}")]
    Invalid(String),
    /// The backend failed in a way that is neither transient nor the
    /// caller's value (a bug or a broken schema): never worth retrying.
    #[error("internal store error: {0}")]
    Internal(String),
    /// The backend cannot be reached or is overloaded; the caller may retry later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// A `NotFound` for a task.
    pub fn task_not_found(id: &TaskId) -> Self {
        Self::NotFound {
            kind: "task",
            id: id.to_string(),
        }
    }

    /// A `NotFound` for an executor.
    pub fn executor_not_found(id: &ExecutorId) -> Self {
        Self::NotFound {
            kind: "executor",
            id: id.to_string(),
        }
    }

    /// A `NotFound` for an execution.
    pub fn execution_not_found(id: &ExecutionId) -> Self {
        Self::NotFound {
            kind: "execution",
            id: id.to_string(),
        }
    }
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;
