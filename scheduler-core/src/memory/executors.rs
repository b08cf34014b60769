//! Executors in the memory store: registration (a new instance id creates,
//! a known one updates), removal, and the status counts.

use super::state::State;
use crate::domain::*;
use crate::store::*;

impl State {
    pub(super) fn executor_mut(&mut self, id: &ExecutorId) -> StoreResult<&mut Executor> {
        self.executors
            .get_mut(id)
            .ok_or_else(|| StoreError::executor_not_found(id))
    }

    /// See `Store::register_executor`.
    pub(super) fn register_executor(&mut self, executor: &Executor) -> StoreResult<(Executor, Registered)> {
        if let Some(id) = self.instance_ids.get(&executor.instance_id).cloned() {
            let e = self.executor_mut(&id)?;
            *e = e.reregistered(executor);
            return Ok((e.clone(), Registered::Updated));
        }
        if self.executors.contains_key(&executor.id) {
            return Err(StoreError::Conflict(format!("executor {} already exists", executor.id)));
        }
        self.instance_ids
            .insert(executor.instance_id.clone(), executor.id.clone());
        self.executors.insert(executor.id.clone(), executor.clone());
        Ok((executor.clone(), Registered::Created))
    }

    /// See `Store::delete_executor`: its assignments go, its executions stay.
    pub(super) fn delete_executor(&mut self, id: &ExecutorId) -> StoreResult<()> {
        let e = self
            .executors
            .remove(id)
            .ok_or_else(|| StoreError::executor_not_found(id))?;
        self.instance_ids.remove(&e.instance_id);
        for list in self.assignments.values_mut() {
            list.retain(|a| &a.executor_id != id);
        }
        self.forget_executor(id);
        Ok(())
    }

    /// Executors by status and health, tasks by status, unfinished executions.
    pub(super) fn system_counts(&self) -> SystemCounts {
        let mut c = SystemCounts {
            executions_pending: self.pending,
            executions_running: self.running,
            ..SystemCounts::default()
        };
        for e in self.executors.values() {
            c.executors_total += 1;
            match e.status {
                ExecutorStatus::Online => c.executors_online += 1,
                ExecutorStatus::Offline => c.executors_offline += 1,
                ExecutorStatus::Maintenance => c.executors_maintenance += 1,
            }
            if e.is_healthy {
                c.executors_healthy += 1;
            } else {
                c.executors_unhealthy += 1;
            }
        }
        for t in self.tasks.values() {
            match t.status {
                TaskStatus::Active => c.tasks_active += 1,
                TaskStatus::Paused => c.tasks_paused += 1,
                TaskStatus::Deleted => {}
            }
        }
        c
    }
}
