//! What a scheduled fire does while the task still runs: the
//! [`ExecutionMode`] trait and the three built-in modes (docs/reference/semantics.md#execution-modes).
//!
//! ```text
//! every second, each execution takes 2.5 s:
//!               t0      t1      t2      t3
//! parallel:     run     run     run     run       (always dispatch)
//! sequential:   run     -       -       run       (no row while one is pending/running)
//! skip:         run     skipped skipped run       (a `skipped` row while one is running)
//! ```
//!
//! A manual trigger bypasses the mode.

use crate::domain::{ModeName, Task};
use crate::store::{Store, StoreResult, TaskActivity};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Arc;

/// What a scheduled fire does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FireDecision {
    /// Record an execution and dispatch it.
    Dispatch,
    /// Record a `skipped` execution; dispatch nothing.
    RecordSkipped,
    /// Record nothing and dispatch nothing (counted in a metric and logged).
    Drop,
}

/// Lazily fetched facts a mode may look at.
pub struct ModeContext<'a> {
    /// The task that fires.
    pub task: &'a Task,
    store: &'a dyn Store,
}

impl<'a> ModeContext<'a> {
    /// A context for `task`.
    pub fn new(task: &'a Task, store: &'a dyn Store) -> Self {
        Self { task, store }
    }

    /// Pending and running executions of the task (one store call).
    pub async fn activity(&self) -> StoreResult<TaskActivity> {
        self.store.task_activity(&self.task.id).await
    }
}

/// Decides what a scheduled fire does.
#[async_trait]
pub trait ExecutionMode: Send + Sync + 'static {
    /// The decision for one fire of `ctx.task`.
    async fn decide(&self, ctx: &ModeContext<'_>) -> StoreResult<FireDecision>;

    /// Whether the decision depends on the moment of the fire. Modes that
    /// always dispatch return false, which lets the engine prepare their fires
    /// slightly ahead of the instant.
    fn depends_on_activity(&self) -> bool {
        true
    }
}

/// `parallel`: always dispatch.
#[derive(Clone, Copy, Debug, Default)]
pub struct Parallel;

#[async_trait]
impl ExecutionMode for Parallel {
    async fn decide(&self, _ctx: &ModeContext<'_>) -> StoreResult<FireDecision> {
        Ok(FireDecision::Dispatch)
    }

    fn depends_on_activity(&self) -> bool {
        false
    }
}

/// `sequential`: no execution while one is `pending` or `running`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sequential;

#[async_trait]
impl ExecutionMode for Sequential {
    async fn decide(&self, ctx: &ModeContext<'_>) -> StoreResult<FireDecision> {
        let a = ctx.activity().await?;
        Ok(if a.pending + a.running > 0 {
            FireDecision::Drop
        } else {
            FireDecision::Dispatch
        })
    }
}

/// `skip`: a `skipped` execution while one is `running`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Skip;

#[async_trait]
impl ExecutionMode for Skip {
    async fn decide(&self, ctx: &ModeContext<'_>) -> StoreResult<FireDecision> {
        let a = ctx.activity().await?;
        Ok(if a.running > 0 {
            FireDecision::RecordSkipped
        } else {
            FireDecision::Dispatch
        })
    }
}

/// Modes by name; starts with the three built-ins.
#[derive(Clone)]
pub(crate) struct ModeRegistry {
    map: HashMap<String, Arc<dyn ExecutionMode>>,
}

impl Default for ModeRegistry {
    fn default() -> Self {
        let mut r = Self { map: HashMap::new() };
        r.register(ModeName::PARALLEL, Arc::new(Parallel));
        r.register(ModeName::SEQUENTIAL, Arc::new(Sequential));
        r.register(ModeName::SKIP, Arc::new(Skip));
        r
    }
}

impl ModeRegistry {
    /// Adds (or replaces) a mode under `name`.
    pub fn register(&mut self, name: ModeName, mode: Arc<dyn ExecutionMode>) {
        self.map.insert(name.as_str().to_owned(), mode);
    }

    /// The mode registered under `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn ExecutionMode>> {
        self.map.get(name)
    }

    /// Registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.map.keys().cloned().collect();
        v.sort();
        v
    }
}
