//! [`MemoryStore`]: the embedded default store, kept in process memory.
//!
//! One mutex guards the whole state; every method takes it once, does its
//! work without awaiting, and releases it, so calls are atomic and no lock is
//! held across an `.await`. Secondary indexes keep the engine's hot queries
//! (claims, due and overdue executions, per-task activity, per-executor
//! load) independent of the number of executions stored; executions are
//! kept as compact rows ([`rows`]), about 250 bytes each with their index
//! entries.

use crate::domain::*;
use crate::store::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use state::State;
use std::sync::{Arc, Mutex, MutexGuard};

mod alerts;
mod executors;
mod indexes;
mod queries;
mod rows;
mod state;

/// An in-memory [`Store`]; nothing survives the process.
#[derive(Debug)]
pub struct MemoryStore {
    state: Mutex<State>,
    alerts: Mutex<alerts::Outbox>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store keeping logs within the default `max_log_bytes`.
    pub fn new() -> Self {
        Self::with_max_log_bytes(logs::DEFAULT_MAX_LOG_BYTES)
    }

    /// An empty store keeping each execution's logs within `max_log_bytes`
    /// ([`logs`](crate::domain::logs)).
    pub fn with_max_log_bytes(max_log_bytes: usize) -> Self {
        Self {
            state: Mutex::new(State::new(max_log_bytes)),
            alerts: Mutex::default(),
        }
    }

    /// How many executions are stored, final or not (counted, not scanned).
    pub fn len(&self) -> usize {
        self.lock().rows.len()
    }

    /// Whether no execution is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave an index half-updated in
        // a way later calls would misread worse than losing the store, and
        // poisoning would turn one bug into every call failing: keep going.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn outbox(&self) -> MutexGuard<'_, alerts::Outbox> {
        // As `lock`: an outbox poisoned by a panic is still the best state known.
        self.alerts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The default cap on final executions kept in memory.
pub const DEFAULT_MAX_EXECUTIONS: u64 = 1_000_000;

/// Counts every matching row but clones only the rows of the page.
fn page_of<'a, T: Clone + 'a>(rows: impl Iterator<Item = &'a T>, page: Page) -> Paged<T> {
    let mut total = 0u64;
    let mut items = Vec::new();
    let skip = page.offset();
    for row in rows {
        if total >= skip && (items.len() as u64) < u64::from(page.page_size) {
            items.push(row.clone());
        }
        total += 1;
    }
    Paged { items, total }
}

fn contains(hay: &str, needle: Option<&String>) -> bool {
    needle.is_none_or(|n| hay.contains(n.as_str()))
}

#[async_trait]
impl Store for MemoryStore {
    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }

    async fn create_task(&self, task: &Task, executors: &[TaskExecutor]) -> StoreResult<Task> {
        let mut s = self.lock();
        if s.tasks.contains_key(&task.id) {
            return Err(StoreError::Conflict(format!("task {} already exists", task.id)));
        }
        if task.status != TaskStatus::Deleted {
            s.name_free(&task.name, &task.id)?;
        }
        s.check_executors_exist(executors)?;
        s.assignments.insert(task.id.clone(), executors.to_vec());
        Ok(s.put_task(task.clone()))
    }

    async fn get_task(&self, id: &TaskId) -> StoreResult<Task> {
        self.lock().task(id).cloned()
    }

    async fn list_tasks(&self, filter: &TaskFilter, page: Page) -> StoreResult<Paged<Task>> {
        let s = self.lock();
        let rows = s.tasks_by_created.iter().rev().filter_map(|(_, id)| {
            let t = s.tasks.get(id)?;
            let status_ok = match filter.status {
                Some(st) => t.status == st,
                None => t.status != TaskStatus::Deleted,
            };
            (status_ok && contains(&t.name, filter.name.as_ref())).then_some(t)
        });
        Ok(page_of(rows, page))
    }

    async fn update_task(&self, task: &Task, executors: Option<&[TaskExecutor]>) -> StoreResult<Task> {
        let mut s = self.lock();
        let stored = s.task(&task.id)?;
        if stored.status == TaskStatus::Deleted {
            return Err(StoreError::Conflict(format!("task {} is deleted", task.id)));
        }
        let mut next = task.clone();
        next.created_at = stored.created_at;
        if next.status != TaskStatus::Deleted {
            s.name_free(&next.name, &next.id)?;
        }
        if let Some(list) = executors {
            s.check_executors_exist(list)?;
            s.assignments.insert(task.id.clone(), list.to_vec());
        }
        Ok(s.put_task(next))
    }

    async fn delete_task(&self, id: &TaskId, at: DateTime<Utc>) -> StoreResult<Task> {
        let mut s = self.lock();
        let mut t = s.task(id)?.clone();
        if t.status == TaskStatus::Deleted {
            return Err(StoreError::Conflict(format!("task {id} is already deleted")));
        }
        t.status = TaskStatus::Deleted;
        t.next_run_time = None;
        t.updated_at = at;
        Ok(s.put_task(t))
    }

    async fn active_tasks(&self) -> StoreResult<Vec<Task>> {
        let s = self.lock();
        Ok(s.tasks
            .values()
            .filter(|t| t.status == TaskStatus::Active)
            .cloned()
            .collect())
    }

    async fn tasks_changed_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<Task>> {
        let s = self.lock();
        let start = (since, TaskId::new(""));
        Ok(s.tasks_by_updated
            .range(start..)
            .filter_map(|(_, id)| s.tasks.get(id).cloned())
            .collect())
    }

    async fn set_next_run_time(&self, id: &TaskId, next: Option<DateTime<Utc>>) -> StoreResult<()> {
        let mut s = self.lock();
        if let Some(t) = s.tasks.get_mut(id)
            && t.status == TaskStatus::Active
        {
            t.next_run_time = next;
        }
        Ok(())
    }

    async fn task_executors(&self, task_id: &TaskId) -> StoreResult<Vec<TaskExecutor>> {
        let s = self.lock();
        s.task(task_id)?;
        let mut list = s.assignments.get(task_id).cloned().unwrap_or_default();
        list.sort_by(|a, b| a.executor_id.cmp(&b.executor_id));
        Ok(list)
    }

    async fn replace_task_executors(
        &self,
        task_id: &TaskId,
        executors: &[TaskExecutor],
    ) -> StoreResult<Vec<TaskExecutor>> {
        let mut s = self.lock();
        if s.task(task_id)?.status == TaskStatus::Deleted {
            return Err(StoreError::Conflict(format!("task {task_id} is deleted")));
        }
        s.check_executors_exist(executors)?;
        let mut list = executors.to_vec();
        list.sort_by(|a, b| a.executor_id.cmp(&b.executor_id));
        s.assignments.insert(task_id.clone(), list.clone());
        Ok(list)
    }

    async fn register_executor(&self, executor: &Executor) -> StoreResult<(Executor, Registered)> {
        self.lock().register_executor(executor)
    }

    async fn get_executor(&self, id: &ExecutorId) -> StoreResult<Executor> {
        let s = self.lock();
        s.executors
            .get(id)
            .cloned()
            .ok_or_else(|| StoreError::executor_not_found(id))
    }

    async fn list_executors(&self, filter: &ExecutorFilter, page: Page) -> StoreResult<Paged<Executor>> {
        let s = self.lock();
        let mut rows: Vec<&Executor> = s
            .executors
            .values()
            .filter(|e| {
                filter.status.is_none_or(|st| e.status == st)
                    && filter.healthy.is_none_or(|h| e.is_healthy == h)
                    && contains(&e.name, filter.name.as_ref())
            })
            .collect();
        rows.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        Ok(page_of(rows.into_iter(), page))
    }

    async fn all_executors(&self) -> StoreResult<Vec<Executor>> {
        Ok(self.lock().executors.values().cloned().collect())
    }

    async fn update_executor(&self, executor: &Executor) -> StoreResult<Executor> {
        let mut s = self.lock();
        let e = s.executor_mut(&executor.id)?;
        *e = e.edited(executor);
        Ok(e.clone())
    }

    async fn set_executor_status(
        &self,
        id: &ExecutorId,
        status: ExecutorStatus,
        at: DateTime<Utc>,
    ) -> StoreResult<Executor> {
        let mut s = self.lock();
        let e = s.executor_mut(id)?;
        e.status = status;
        e.updated_at = at;
        Ok(e.clone())
    }

    async fn record_health(
        &self,
        id: &ExecutorId,
        ok: bool,
        at: DateTime<Utc>,
        thresholds: HealthThresholds,
    ) -> StoreResult<Executor> {
        let mut s = self.lock();
        let e = s.executor_mut(id)?;
        thresholds.apply(e, ok, at);
        Ok(e.clone())
    }

    async fn delete_executor(&self, id: &ExecutorId) -> StoreResult<()> {
        self.lock().delete_executor(id)
    }

    async fn dispatch_candidates(&self, task_id: &TaskId) -> StoreResult<Vec<Candidate>> {
        let s = self.lock();
        Ok(Candidate::among(&s.available(), s.assignments_of(task_id)))
    }

    async fn dispatch_candidates_of(&self, tasks: &[TaskId]) -> StoreResult<Vec<Arc<[Candidate]>>> {
        let s = self.lock();
        let available = s.available();
        // Every task without assignments shares one list.
        let everyone: Arc<[Candidate]> = Candidate::among(&available, &[]).into();
        Ok(tasks
            .iter()
            .map(|t| match s.assignments_of(t) {
                [] => everyone.clone(),
                assigned => Candidate::among(&available, assigned).into(),
            })
            .collect())
    }

    async fn running_counts(
        &self,
        executors: &[ExecutorId],
    ) -> StoreResult<std::collections::HashMap<ExecutorId, u64>> {
        let s = self.lock();
        Ok(executors.iter().map(|id| (id.clone(), s.running_on(id))).collect())
    }

    async fn claim_fire(&self, execution: &Execution, next_run_time: Option<DateTime<Utc>>) -> StoreResult<Execution> {
        let mut s = self.lock();
        let slot = s.claim(execution, Some(next_run_time))?;
        Ok(s.execution(slot))
    }

    async fn claim_fires(&self, executions: &[Execution]) -> StoreResult<Vec<ClaimOutcome>> {
        let mut s = self.lock();
        Ok(executions
            .iter()
            .map(|e| match s.claim(e, None) {
                Ok(_) => ClaimOutcome::Claimed,
                Err(StoreError::AlreadyFired { .. }) => ClaimOutcome::AlreadyFired,
                // The only other refusals: no such task, the id is taken, a time
                // out of the store's range.
                Err(StoreError::NotFound { .. }) => ClaimOutcome::TaskNotFound,
                Err(_) => ClaimOutcome::AlreadyFired,
            })
            .collect())
    }

    async fn last_fire_times(&self, tasks: &[TaskId]) -> StoreResult<std::collections::HashMap<TaskId, DateTime<Utc>>> {
        let s = self.lock();
        let mut out = std::collections::HashMap::new();
        for t in tasks {
            if let Some(at) = s.last_fire(t) {
                out.insert(t.clone(), at);
            }
        }
        Ok(out)
    }

    async fn insert_execution(&self, execution: &Execution) -> StoreResult<Execution> {
        let mut s = self.lock();
        let slot = s.insert_execution(execution, 0)?;
        Ok(s.execution(slot))
    }

    async fn get_execution(&self, id: &ExecutionId) -> StoreResult<Execution> {
        let s = self.lock();
        s.rows
            .find(id)
            .map(|slot| s.execution(slot))
            .ok_or_else(|| StoreError::execution_not_found(id))
    }

    async fn list_executions(
        &self,
        filter: &ExecutionFilter,
        from: &ListFrom,
        page_size: u32,
    ) -> StoreResult<ExecutionPage> {
        Ok(self.lock().list_executions(filter, from, page_size))
    }

    async fn update_execution(
        &self,
        id: &ExecutionId,
        guard: &ExecutionGuard,
        change: &ExecutionChange,
    ) -> StoreResult<Execution> {
        let mut s = self.lock();
        let slot = s.update(id, guard, change)?;
        Ok(s.execution(slot))
    }

    async fn update_executions(&self, updates: &[ExecutionUpdate]) -> StoreResult<Vec<UpdateOutcome>> {
        let mut s = self.lock();
        Ok(updates
            .iter()
            .map(|u| match s.update(&u.id, &u.guard, &u.change) {
                Ok(_) => UpdateOutcome::Applied,
                Err(StoreError::NotFound { .. }) => UpdateOutcome::NotFound,
                Err(_) => UpdateOutcome::Conflict,
            })
            .collect())
    }

    async fn task_activity(&self, task_id: &TaskId) -> StoreResult<TaskActivity> {
        Ok(self.lock().activity(task_id))
    }

    async fn due_executions(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Execution>> {
        let s = self.lock();
        Ok(s.due_in(&s.due, now, limit))
    }

    async fn unanswered_executions(&self, limit: u32) -> StoreResult<Vec<Execution>> {
        let s = self.lock();
        let mut slots: Vec<_> = s.unanswered.iter().copied().collect();
        slots.sort_unstable_by(|a, b| s.rows.cmp_ids(*a, *b));
        Ok(slots
            .into_iter()
            .take(limit as usize)
            .map(|slot| s.execution(slot))
            .collect())
    }

    async fn overdue_executions(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Execution>> {
        let s = self.lock();
        Ok(s.due_in(&s.deadlines, now, limit))
    }

    async fn lb_state(&self, task_id: &TaskId, strategy: &str) -> StoreResult<Option<LbState>> {
        Ok(self.lock().lb.get(&(task_id.clone(), strategy.to_owned())).cloned())
    }

    async fn put_lb_state(
        &self,
        task_id: &TaskId,
        strategy: &str,
        expected_version: Option<u64>,
        value: &serde_json::Value,
    ) -> StoreResult<()> {
        let mut s = self.lock();
        let key = (task_id.clone(), strategy.to_owned());
        let current = s.lb.get(&key).map(|st| st.version);
        if current != expected_version {
            return Err(StoreError::Conflict(format!(
                "load-balancer state of {task_id}/{strategy} changed"
            )));
        }
        s.lb.insert(
            key,
            LbState {
                value: value.clone(),
                version: current.map_or(1, |v| v + 1),
            },
        );
        Ok(())
    }

    async fn hourly_counts(
        &self,
        task_id: &TaskId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<HourlyCounts>> {
        let s = self.lock();
        if from > to {
            return Ok(vec![]);
        }
        Ok(s.task_slots
            .get(task_id)
            .and_then(|slot| s.per_task.get(slot as usize))
            .into_iter()
            .flat_map(|t| t.hours.range(rows::nanos_clamped(from), rows::nanos_clamped(to)))
            .map(|(hour, counts)| HourlyCounts {
                hour: rows::time(hour),
                counts,
            })
            .collect())
    }

    async fn purge_executions(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<u64> {
        Ok(self.lock().purge_before(before, limit))
    }

    async fn purge_excess_executions(&self, keep: u64, limit: u32) -> StoreResult<u64> {
        Ok(self.lock().purge_excess(keep, limit))
    }

    async fn purge_hourly_counts(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut s = self.lock();
        let mut n = 0;
        let before = rows::nanos_clamped(before);
        for t in &mut s.per_task {
            n += t.hours.purge_before(before);
        }
        Ok(n)
    }

    fn default_max_executions(&self) -> Option<u64> {
        Some(DEFAULT_MAX_EXECUTIONS)
    }

    async fn system_counts(&self) -> StoreResult<SystemCounts> {
        Ok(self.lock().system_counts())
    }

    async fn upsert_instance(&self, instance: &SchedulerInstance) -> StoreResult<()> {
        self.lock()
            .instances
            .insert(instance.instance_id.clone(), instance.clone());
        Ok(())
    }

    async fn list_instances(&self) -> StoreResult<Vec<SchedulerInstance>> {
        Ok(self.lock().instances.values().cloned().collect())
    }

    async fn remove_instance(&self, instance_id: &str) -> StoreResult<()> {
        self.lock().instances.remove(instance_id);
        Ok(())
    }

    // ---- alert outbox (see `alerts`) ------------------------------------------

    async fn enqueue_alert(
        &self,
        alert: &NewAlert,
        min_interval: Option<chrono::Duration>,
    ) -> StoreResult<AlertEnqueued> {
        self.outbox().enqueue(alert, min_interval)
    }

    async fn due_alerts(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Alert>> {
        Ok(self.outbox().due(now, limit))
    }

    async fn record_alert_attempt(&self, id: &str, attempt: &AlertAttempt) -> StoreResult<Alert> {
        self.outbox().record(id, attempt)
    }

    async fn list_alerts(&self, since: DateTime<Utc>, page: Page) -> StoreResult<Paged<Alert>> {
        Ok(self.outbox().list(since, page))
    }

    async fn alert_backlog(&self) -> StoreResult<u64> {
        Ok(self.outbox().backlog())
    }

    async fn purge_alerts(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        Ok(self.outbox().purge(before))
    }
}
