//! The persistence boundary: everything the engine and the REST API read and write.
//!
//! A [`Store`] is shared as `Arc<dyn Store>`. Every method is one atomic step
//! against the backend; the methods that decide races (claiming a fire,
//! compare-and-set on executions, name uniqueness, load-balancer state) make
//! the backend decide them, never a read followed by a write in the caller.
//! [`MemoryStore`](crate::MemoryStore) is the embedded default; the MySQL store
//! lives in `scheduler-mysql`. A new backend is correct when it passes the
//! conformance suite in `scheduler_core::testing` (feature `test-util`).

use crate::domain::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;

mod alerts;
mod answers;
mod counts;
mod error;
mod query;
pub use alerts::*;
pub use answers::*;
pub use counts::*;
pub use error::*;
pub use query::*;

/// Persistence for tasks, executors, executions, load-balancer state and instances.
///
/// Timestamps are UTC at millisecond precision. Every method is atomic on its own.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Answers when the backend is reachable (`/readyz`).
    async fn ping(&self) -> StoreResult<()>;

    // ---- tasks -------------------------------------------------------------

    /// Inserts a task and its assignments in one step.
    ///
    /// `NameTaken` if a task that is not deleted has the same name. Assignments
    /// naming an executor that does not exist give `NotFound` (kind `executor`)
    /// and nothing is written.
    async fn create_task(&self, task: &Task, executors: &[TaskExecutor]) -> StoreResult<Task>;

    /// A task by id, deleted ones included. `NotFound` otherwise.
    async fn get_task(&self, id: &TaskId) -> StoreResult<Task>;

    /// Tasks matching `filter`, newest `created_at` first, and their total.
    async fn list_tasks(&self, filter: &TaskFilter, page: Page) -> StoreResult<Paged<Task>>;

    /// Replaces every mutable field of a stored task (name, schedule, options,
    /// status, `next_run_time`, `updated_at`) and, when `executors` is given,
    /// its assignments, in one step.
    ///
    /// `NotFound`; `Conflict` if the stored task is deleted; `NameTaken` if the
    /// new name belongs to another task that is not deleted; `NotFound` (kind
    /// `executor`) for an unknown assigned executor.
    async fn update_task(&self, task: &Task, executors: Option<&[TaskExecutor]>) -> StoreResult<Task>;

    /// Soft-deletes: status `deleted`, `next_run_time` null, `updated_at = at`.
    /// History and assignments stay. `Conflict` if already deleted.
    async fn delete_task(&self, id: &TaskId, at: DateTime<Utc>) -> StoreResult<Task>;

    /// Every `active` task (the engine's timer loads them on start and on
    /// becoming leader).
    async fn active_tasks(&self) -> StoreResult<Vec<Task>>;

    /// Tasks whose `updated_at >= since`, any status (deleted ones included, so
    /// other instances drop them). Cheap: backed by an index on `updated_at`.
    async fn tasks_changed_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<Task>>;

    /// Sets `next_run_time` of an `active` task; does nothing (and is no error)
    /// when the task is paused, deleted or gone. Does not touch `updated_at`.
    async fn set_next_run_time(&self, id: &TaskId, next: Option<DateTime<Utc>>) -> StoreResult<()>;

    // ---- task executors ----------------------------------------------------

    /// The task's assignments, by executor id. `NotFound` for an unknown task.
    async fn task_executors(&self, task_id: &TaskId) -> StoreResult<Vec<TaskExecutor>>;

    /// Replaces the task's assignment set atomically. `NotFound` for an unknown
    /// task or executor, `Conflict` for a deleted task.
    async fn replace_task_executors(
        &self,
        task_id: &TaskId,
        executors: &[TaskExecutor],
    ) -> StoreResult<Vec<TaskExecutor>>;

    // ---- executors ---------------------------------------------------------

    /// Inserts `executor`, or, when its `instance_id` exists, updates that
    /// executor's name, URLs and metadata (keeping its id and `created_at`),
    /// turns `offline` into `online` (a `maintenance` status is kept), and
    /// resets its health to healthy with zero counters.
    async fn register_executor(&self, executor: &Executor) -> StoreResult<(Executor, Registered)>;

    /// An executor by id. `NotFound` otherwise.
    async fn get_executor(&self, id: &ExecutorId) -> StoreResult<Executor>;

    /// Executors matching `filter`, newest first, and their total.
    async fn list_executors(&self, filter: &ExecutorFilter, page: Page) -> StoreResult<Paged<Executor>>;

    /// Every executor (the health probe loop walks them).
    async fn all_executors(&self) -> StoreResult<Vec<Executor>>;

    /// Replaces name, URLs, metadata and `updated_at`. `NotFound`.
    async fn update_executor(&self, executor: &Executor) -> StoreResult<Executor>;

    /// Sets the administrative status. `NotFound`.
    async fn set_executor_status(
        &self,
        id: &ExecutorId,
        status: ExecutorStatus,
        at: DateTime<Utc>,
    ) -> StoreResult<Executor>;

    /// Records one probe result atomically with [`HealthThresholds::apply`].
    async fn record_health(
        &self,
        id: &ExecutorId,
        ok: bool,
        at: DateTime<Utc>,
        thresholds: HealthThresholds,
    ) -> StoreResult<Executor>;

    /// Deletes an executor and its assignments; its executions keep their
    /// history with `executor_id` null. `NotFound`.
    async fn delete_executor(&self, id: &ExecutorId) -> StoreResult<()>;

    /// Executors that may take a dispatch of `task_id`: its assigned executors,
    /// or every executor when it has none, keeping only `online` and healthy
    /// ones, ordered by executor id. (Priority tiers are applied by the engine.)
    async fn dispatch_candidates(&self, task_id: &TaskId) -> StoreResult<Vec<Candidate>>;

    /// [`dispatch_candidates`](Self::dispatch_candidates) of many tasks in one
    /// call (the engine asks once per block of fires): one list per task, in
    /// the order of `tasks` (empty when a task has no candidate). Tasks with
    /// the same candidates may share one list: with no assignments, every
    /// task's list is the same. A read: no atomicity across tasks is
    /// promised. The default asks task by task.
    async fn dispatch_candidates_of(&self, tasks: &[TaskId]) -> StoreResult<Vec<Arc<[Candidate]>>> {
        let mut out = Vec::with_capacity(tasks.len());
        for t in tasks {
            out.push(Arc::from(self.dispatch_candidates(t).await?));
        }
        Ok(out)
    }

    /// `running` executions (of all tasks) per executor, for `least_loaded`.
    /// Executors with none may be absent from the map.
    async fn running_counts(&self, executors: &[ExecutorId]) -> StoreResult<HashMap<ExecutorId, u64>>;

    // ---- executions --------------------------------------------------------

    /// Claims a scheduled fire: inserts `execution` (trigger `schedule`) unless
    /// a fire of the same task with the same `scheduled_time` was claimed
    /// before, in which case it fails with `AlreadyFired` and writes nothing.
    /// Scheduled executions are only ever written through this method. In the same step sets the task's `next_run_time` to
    /// `next_run_time` if the task is still active. This is what makes a fire
    /// happen once across scheduler instances.
    async fn claim_fire(&self, execution: &Execution, next_run_time: Option<DateTime<Utc>>) -> StoreResult<Execution>;

    /// Claims many scheduled fires in one call: each execution is inserted
    /// unless a fire of the same task with the same `scheduled_time` was
    /// claimed before (by this call, an earlier one, or another instance
    /// racing it), exactly as [`claim_fire`](Self::claim_fire) decides for one.
    /// The answer has one outcome per execution, in order.
    ///
    /// Atomicity is per fire, not per call: a fire is inserted whole or not at
    /// all, and a `(task_id, scheduled_time)` is inserted at most once, but
    /// two calls racing may each claim part of the same list. On an error
    /// (`Unavailable`) any subset may have been claimed; the caller must treat
    /// those fires as unknown (claiming them again answers `AlreadyFired` for
    /// the ones that went in).
    ///
    /// Unlike `claim_fire`, the tasks' `next_run_time` is not written: the
    /// engine derives a task's next instant from its latest claimed fire
    /// ([`last_fire_times`](Self::last_fire_times)), so the fire path writes
    /// one row per fire instead of two. The default claims one by one.
    async fn claim_fires(&self, executions: &[Execution]) -> StoreResult<Vec<ClaimOutcome>> {
        let mut out = Vec::with_capacity(executions.len());
        for e in executions {
            // `next_run_time` may lag behind (see above): the instant claimed
            // is a safe value to leave there.
            out.push(match self.claim_fire(e, Some(e.scheduled_time)).await {
                Ok(_) => ClaimOutcome::Claimed,
                Err(StoreError::AlreadyFired { .. }) => ClaimOutcome::AlreadyFired,
                Err(StoreError::NotFound { kind: "task", .. }) => ClaimOutcome::TaskNotFound,
                Err(e) => return Err(e),
            });
        }
        Ok(out)
    }

    /// The latest `scheduled_time` of a claimed fire of each of `tasks`;
    /// tasks that never fired are absent. Backed by the fire uniqueness
    /// index, so the engine can afford it for every active task when it
    /// becomes leader. The default reads each task's newest executions.
    async fn last_fire_times(&self, tasks: &[TaskId]) -> StoreResult<HashMap<TaskId, DateTime<Utc>>> {
        let mut out = HashMap::new();
        for t in tasks {
            let filter = ExecutionFilter {
                task_id: Some(t.clone()),
                ..ExecutionFilter::default()
            };
            let page = self.list_executions(&filter, &ListFrom::Page(1), 50).await?;
            if let Some(at) = page
                .items
                .iter()
                .filter(|e| e.trigger_type == TriggerType::Schedule)
                .map(|e| e.scheduled_time)
                .max()
            {
                out.insert(t.clone(), at);
            }
        }
        Ok(out)
    }

    /// Inserts an execution with no uniqueness on its instant (manual triggers).
    async fn insert_execution(&self, execution: &Execution) -> StoreResult<Execution>;

    /// An execution by id. `NotFound` otherwise.
    async fn get_execution(&self, id: &ExecutionId) -> StoreResult<Execution>;

    /// Executions matching `filter`, newest `scheduled_time` first (ties by id,
    /// descending), at most `page_size` of them from `from`, without `logs`
    /// and `result`; the total is exact up to [`TOTAL_CAP`].
    async fn list_executions(
        &self,
        filter: &ExecutionFilter,
        from: &ListFrom,
        page_size: u32,
    ) -> StoreResult<ExecutionPage>;

    /// Compare-and-set: applies `change` when the stored execution satisfies
    /// `guard` and returns the updated row.
    ///
    /// `NotFound`; `Conflict` when the guard does not hold, which includes every
    /// execution in a final state: a final state is never overwritten.
    async fn update_execution(
        &self,
        id: &ExecutionId,
        guard: &ExecutionGuard,
        change: &ExecutionChange,
    ) -> StoreResult<Execution>;

    /// Applies many compare-and-set changes in one call, each exactly as
    /// [`update_execution`](Self::update_execution) would (a final state is
    /// never overwritten), and answers one outcome per update, in order.
    ///
    /// Atomicity is per row: each update is applied whole or not at all
    /// against the row as it is when the store gets to it, and the answer
    /// says which rows changed. Two updates of the same id in one call are
    /// applied in order. On an error (`Unavailable`) any subset may have been
    /// applied; applying the same list again is safe, because every guard
    /// names the state it expects (an applied update then answers `Conflict`).
    /// The default applies one by one.
    async fn update_executions(&self, updates: &[ExecutionUpdate]) -> StoreResult<Vec<UpdateOutcome>> {
        let mut out = Vec::with_capacity(updates.len());
        for u in updates {
            out.push(match self.update_execution(&u.id, &u.guard, &u.change).await {
                Ok(_) => UpdateOutcome::Applied,
                Err(StoreError::Conflict(_)) => UpdateOutcome::Conflict,
                Err(StoreError::NotFound { .. }) => UpdateOutcome::NotFound,
                Err(e) => return Err(e),
            });
        }
        Ok(out)
    }

    /// Pending and running executions of one task.
    async fn task_activity(&self, task_id: &TaskId) -> StoreResult<TaskActivity>;

    /// `pending` executions whose attempt has not been sent and that are due:
    /// `next_attempt_at <= now`, or, when `next_attempt_at` is null,
    /// `created_at <= now`; ordered by that due time, at most `limit`.
    async fn due_executions(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Execution>>;

    /// `pending` executions whose attempt was sent (`dispatched_at` set) with
    /// no answer recorded, at most `limit` (recovery treats them as running).
    async fn unanswered_executions(&self, limit: u32) -> StoreResult<Vec<Execution>>;

    /// `pending` or `running` executions with `timeout_at <= now`, oldest
    /// deadline first, at most `limit`.
    async fn overdue_executions(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Execution>>;

    // ---- load-balancer state -----------------------------------------------

    /// The state of `strategy` for `task_id`, if any was written.
    async fn lb_state(&self, task_id: &TaskId, strategy: &str) -> StoreResult<Option<LbState>>;

    /// Writes the state if its current version is `expected_version` (`None`:
    /// no state yet). `Conflict` when another writer got there first.
    async fn put_lb_state(
        &self,
        task_id: &TaskId,
        strategy: &str,
        expected_version: Option<u64>,
        value: &serde_json::Value,
    ) -> StoreResult<()>;

    // ---- statistics and history --------------------------------------------

    /// The hourly counters of `task_id` for the hours `from <= hour <= to`
    /// (both the first instant of an hour), in hour order; hours without a
    /// final execution are absent.
    async fn hourly_counts(
        &self,
        task_id: &TaskId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<HourlyCounts>>;

    /// Deletes at most `limit` final executions with `scheduled_time <
    /// before`, oldest first, and answers how many went. Non-final
    /// executions are never deleted; the hourly counters are not touched.
    /// Each call is short: it must not hold up a fire or a request.
    async fn purge_executions(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<u64>;

    /// Deletes at most `limit` of the oldest final executions beyond the
    /// newest `keep`, and answers how many went.
    async fn purge_excess_executions(&self, keep: u64, limit: u32) -> StoreResult<u64>;

    /// Deletes the hourly counters of hours before `before`.
    async fn purge_hourly_counts(&self, before: DateTime<Utc>) -> StoreResult<u64>;

    /// The cap on final executions this store keeps when the configuration
    /// leaves it to the store ([`ExecutionCap::StoreDefault`]).
    fn default_max_executions(&self) -> Option<u64> {
        None
    }

    /// Counts for the system status page.
    async fn system_counts(&self) -> StoreResult<SystemCounts>;

    // ---- scheduler instances -----------------------------------------------

    /// Inserts or updates an instance row by `instance_id`.
    async fn upsert_instance(&self, instance: &SchedulerInstance) -> StoreResult<()>;

    /// Every instance row, by `instance_id`.
    async fn list_instances(&self) -> StoreResult<Vec<SchedulerInstance>>;

    /// Removes an instance row (clean shutdown).
    async fn remove_instance(&self, instance_id: &str) -> StoreResult<()>;

    // ---- alert outbox (see `store::alerts`) ---------------------------------

    /// Queues `alert` unless its `(target, key)` had an alert queued less than
    /// `min_interval` before `alert.at`; then only counts it as held back.
    /// A queued alert carries the count held back since the previous one and
    /// resets it. Atomic per `(target, key)`, across instances.
    async fn enqueue_alert(
        &self,
        alert: &NewAlert,
        min_interval: Option<chrono::Duration>,
    ) -> StoreResult<AlertEnqueued>;

    /// Undelivered alerts whose next attempt is due at `now`, the earliest
    /// due first, at most `limit`.
    async fn due_alerts(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Alert>>;

    /// Records one delivery attempt of alert `id` (attempts + 1). A delivered
    /// alert is never changed again (`Conflict`). `NotFound` if purged.
    async fn record_alert_attempt(&self, id: &str, attempt: &AlertAttempt) -> StoreResult<Alert>;

    /// Alerts of events at or after `since`, newest first (then by id,
    /// descending).
    async fn list_alerts(&self, since: DateTime<Utc>, page: Page) -> StoreResult<Paged<Alert>>;

    /// Alerts neither delivered nor given up.
    async fn alert_backlog(&self) -> StoreResult<u64>;

    /// Deletes alerts of events before `before`, delivered or not, and the
    /// suppression state of keys with no alert queued since; returns the
    /// alerts deleted.
    async fn purge_alerts(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}
