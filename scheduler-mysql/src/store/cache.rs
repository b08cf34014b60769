//! The execution cache: the row version each recently written execution is
//! at, so the next compare-and-set needs no read first.

use scheduler_core::{Execution, ExecutionId};
use std::collections::HashMap;

/// Recently written executions with their `row_version`: the expected version
/// of the next compare-and-set. Only a hint: a stale entry makes the
/// conditional `UPDATE` match nothing and the slow path runs.
pub(super) struct ExecutionCache {
    pub(super) map: HashMap<ExecutionId, (Execution, u64)>,
    pub(super) capacity: usize,
}

impl ExecutionCache {
    pub(super) fn get(&self, id: &ExecutionId) -> Option<(Execution, u64)> {
        self.map.get(id).cloned()
    }

    pub(super) fn put(&mut self, e: &Execution, version: u64) {
        if e.status.is_final() || self.capacity == 0 {
            // Final executions are never updated again.
            self.map.remove(&e.id);
            return;
        }
        if self.map.len() >= self.capacity
            && !self.map.contains_key(&e.id)
            && let Some(k) = self.map.keys().next().cloned()
        {
            self.map.remove(&k);
        }
        self.map.insert(e.id.clone(), (e.clone(), version));
    }

    pub(super) fn remove(&mut self, id: &ExecutionId) {
        self.map.remove(id);
    }
}
