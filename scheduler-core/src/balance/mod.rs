//! Choosing the executor of a dispatch: the [`LoadBalancer`] trait and the
//! five built-in strategies.
//!
//! The engine first narrows the candidates (docs/reference/semantics.md#load-balancing):
//! the task's assigned executors, or every executor when it has none; only
//! `online` and healthy ones; then only the lowest `priority` value among
//! those left. A strategy picks one of what remains. Strategy state (the
//! round-robin position, smooth-WRR current weights, the sticky binding) is
//! kept in the store's load-balancer state, so it survives a restart and a
//! change of leader.

mod least_loaded;
mod random;
mod round_robin;
mod sticky;
mod weighted_round_robin;

pub use least_loaded::LeastLoaded;
pub use random::Random;
pub use round_robin::RoundRobin;
pub use sticky::Sticky;
pub use weighted_round_robin::WeightedRoundRobin;

use crate::domain::{StrategyName, Task};
use crate::store::{Candidate, Store, StoreError, StoreResult};
use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Arc;

/// What a strategy may look at when it picks.
pub struct BalanceContext<'a> {
    /// The task being dispatched.
    pub task: &'a Task,
    /// The store, for strategy state and load figures.
    pub store: &'a dyn Store,
    /// The name the strategy is registered under (the key of its state).
    pub strategy: &'a str,
}

impl BalanceContext<'_> {
    /// Reads the strategy's state for this task, lets `f` change it, and writes
    /// it back with compare-and-set, retrying when another writer got there
    /// first. Returns what `f` returned.
    pub async fn update_state<S, R>(&self, mut f: impl FnMut(&mut S) -> R) -> StoreResult<R>
    where
        S: Serialize + DeserializeOwned + Default,
    {
        const ATTEMPTS: usize = 32;
        for _ in 0..ATTEMPTS {
            let current = self.store.lb_state(&self.task.id, self.strategy).await?;
            let (mut state, version) = match current {
                Some(s) => (serde_json::from_value(s.value).unwrap_or_default(), Some(s.version)),
                None => (S::default(), None),
            };
            let out = f(&mut state);
            let value = serde_json::to_value(&state)
                .map_err(|e| StoreError::Conflict(format!("load-balancer state does not serialize: {e}")))?;
            match self
                .store
                .put_lb_state(&self.task.id, self.strategy, version, &value)
                .await
            {
                Ok(()) => return Ok(out),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict(format!(
            "load-balancer state of task {} kept changing",
            self.task.id
        )))
    }
}

/// Picks one executor among candidates.
#[async_trait]
pub trait LoadBalancer: Send + Sync + 'static {
    /// Returns the index in `candidates` of the executor to use.
    ///
    /// `candidates` is never empty, holds only available executors of the
    /// lowest priority tier, and is ordered by executor id.
    async fn pick(&self, ctx: &BalanceContext<'_>, candidates: &[Candidate]) -> StoreResult<usize>;
}

/// Strategies by name; starts with the five built-ins.
#[derive(Clone)]
pub(crate) struct BalancerRegistry {
    map: HashMap<String, Arc<dyn LoadBalancer>>,
}

impl Default for BalancerRegistry {
    fn default() -> Self {
        let mut r = Self { map: HashMap::new() };
        r.register(StrategyName::ROUND_ROBIN, Arc::new(RoundRobin));
        r.register(StrategyName::WEIGHTED_ROUND_ROBIN, Arc::new(WeightedRoundRobin));
        r.register(StrategyName::RANDOM, Arc::new(Random));
        r.register(StrategyName::STICKY, Arc::new(Sticky));
        r.register(StrategyName::LEAST_LOADED, Arc::new(LeastLoaded));
        r
    }
}

impl BalancerRegistry {
    /// Adds (or replaces) a strategy under `name`.
    pub fn register(&mut self, name: StrategyName, balancer: Arc<dyn LoadBalancer>) {
        self.map.insert(name.as_str().to_owned(), balancer);
    }

    /// The strategy registered under `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn LoadBalancer>> {
        self.map.get(name)
    }

    /// Registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.map.keys().cloned().collect();
        v.sort();
        v
    }
}

/// Keeps the candidates of the lowest priority value (docs/reference/semantics.md#load-balancing).
pub fn lowest_priority_tier(mut candidates: Vec<Candidate>) -> Vec<Candidate> {
    if let Some(min) = candidates.iter().map(|c| c.priority).min() {
        candidates.retain(|c| c.priority == min);
    }
    candidates
}

/// The round-robin step shared by several strategies: the first candidate
/// whose id sorts after `last`, wrapping around to the first.
pub(crate) fn next_after(candidates: &[Candidate], last: Option<&str>) -> usize {
    match last {
        Some(last) => candidates
            .iter()
            .position(|c| c.executor.id.as_str() > last)
            .unwrap_or(0),
        None => 0,
    }
}
