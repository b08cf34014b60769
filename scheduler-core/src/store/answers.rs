//! The answers of the dispatch and batch methods: candidates, registration,
//! load-balancer state, per-row outcomes of claims and updates.

use crate::domain::*;
use std::sync::Arc;

/// An executor that may take a dispatch of a task, with its assignment.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// The executor (online and healthy), shared: the candidates of many
    /// tasks, and the attempts sent to it, hold the same one.
    pub executor: Arc<Executor>,
    /// Assignment weight (1 when the task has no assignments).
    pub weight: u32,
    /// Assignment priority (0 when the task has no assignments).
    pub priority: i32,
}

impl Candidate {
    /// The candidates of a task among `available`, the online and healthy
    /// executors ordered by id: the assigned ones with their assignment's
    /// weight and priority, or every one (weight 1, priority 0) when the task
    /// has no assignments: the rule of
    /// [`Store::dispatch_candidates`](crate::Store::dispatch_candidates), for
    /// stores to share.
    pub fn among(available: &[Arc<Executor>], assigned: &[TaskExecutor]) -> Vec<Candidate> {
        if assigned.is_empty() {
            return available
                .iter()
                .map(|e| Candidate {
                    executor: e.clone(),
                    weight: 1,
                    priority: 0,
                })
                .collect();
        }
        available
            .iter()
            .filter_map(|e| {
                let a = assigned.iter().find(|a| a.executor_id == e.id)?;
                Some(Candidate {
                    executor: e.clone(),
                    weight: a.weight,
                    priority: a.priority,
                })
            })
            .collect()
    }
}

/// Whether a registration created an executor or updated an existing one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registered {
    /// A new executor.
    Created,
    /// The instance id existed; that executor was updated.
    Updated,
}

/// Opaque per-(task, strategy) load-balancer state with its version.
#[derive(Clone, Debug, PartialEq)]
pub struct LbState {
    /// Strategy-defined JSON.
    pub value: serde_json::Value,
    /// Incremented on every write; used for compare-and-set.
    pub version: u64,
}

/// The answer to one fire of [`Store::claim_fires`](crate::Store::claim_fires).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The execution was inserted: this caller owns the fire.
    Claimed,
    /// A fire of the same task and instant was claimed before; nothing written.
    AlreadyFired,
    /// The task does not exist; nothing written.
    TaskNotFound,
}

/// One compare-and-set of [`Store::update_executions`](crate::Store::update_executions).
#[derive(Clone, Debug, PartialEq)]
pub struct ExecutionUpdate {
    /// The execution.
    pub id: ExecutionId,
    /// What the stored row must satisfy.
    pub guard: ExecutionGuard,
    /// What changes when it does.
    pub change: ExecutionChange,
}

/// The answer to one row of [`Store::update_executions`](crate::Store::update_executions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// The guard held and the change was written.
    Applied,
    /// The guard did not hold (a final state included): nothing written.
    Conflict,
    /// No such execution.
    NotFound,
}
