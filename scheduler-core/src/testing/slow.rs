//! [`SlowStore`]: a store that takes its time claiming fires, for tests of an
//! engine whose store cannot keep up with the fire rate.

use crate::domain::*;
use crate::store::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Wraps a store; every claim (`claim_fire`, `claim_fires`) first sleeps
/// `claim_delay` on tokio's clock (paused time in tests). Everything else is
/// passed through unchanged.
pub struct SlowStore {
    inner: Arc<dyn Store>,
    claim_delay: Duration,
}

impl SlowStore {
    /// `inner`, claiming slowly.
    pub fn new(inner: Arc<dyn Store>, claim_delay: Duration) -> Self {
        Self { inner, claim_delay }
    }

    async fn before_claim(&self) {
        tokio::time::sleep(self.claim_delay).await;
    }
}

#[async_trait]
impl Store for SlowStore {
    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }

    async fn create_task(&self, task: &Task, executors: &[TaskExecutor]) -> StoreResult<Task> {
        self.inner.create_task(task, executors).await
    }

    async fn get_task(&self, id: &TaskId) -> StoreResult<Task> {
        self.inner.get_task(id).await
    }

    async fn list_tasks(&self, filter: &TaskFilter, page: Page) -> StoreResult<Paged<Task>> {
        self.inner.list_tasks(filter, page).await
    }

    async fn update_task(&self, task: &Task, executors: Option<&[TaskExecutor]>) -> StoreResult<Task> {
        self.inner.update_task(task, executors).await
    }

    async fn delete_task(&self, id: &TaskId, at: DateTime<Utc>) -> StoreResult<Task> {
        self.inner.delete_task(id, at).await
    }

    async fn active_tasks(&self) -> StoreResult<Vec<Task>> {
        self.inner.active_tasks().await
    }

    async fn tasks_changed_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<Task>> {
        self.inner.tasks_changed_since(since).await
    }

    async fn set_next_run_time(&self, id: &TaskId, next: Option<DateTime<Utc>>) -> StoreResult<()> {
        self.inner.set_next_run_time(id, next).await
    }

    async fn task_executors(&self, task_id: &TaskId) -> StoreResult<Vec<TaskExecutor>> {
        self.inner.task_executors(task_id).await
    }

    async fn replace_task_executors(
        &self,
        task_id: &TaskId,
        executors: &[TaskExecutor],
    ) -> StoreResult<Vec<TaskExecutor>> {
        self.inner.replace_task_executors(task_id, executors).await
    }

    async fn register_executor(&self, executor: &Executor) -> StoreResult<(Executor, Registered)> {
        self.inner.register_executor(executor).await
    }

    async fn get_executor(&self, id: &ExecutorId) -> StoreResult<Executor> {
        self.inner.get_executor(id).await
    }

    async fn list_executors(&self, filter: &ExecutorFilter, page: Page) -> StoreResult<Paged<Executor>> {
        self.inner.list_executors(filter, page).await
    }

    async fn all_executors(&self) -> StoreResult<Vec<Executor>> {
        self.inner.all_executors().await
    }

    async fn update_executor(&self, executor: &Executor) -> StoreResult<Executor> {
        self.inner.update_executor(executor).await
    }

    async fn set_executor_status(
        &self,
        id: &ExecutorId,
        status: ExecutorStatus,
        at: DateTime<Utc>,
    ) -> StoreResult<Executor> {
        self.inner.set_executor_status(id, status, at).await
    }

    async fn record_health(
        &self,
        id: &ExecutorId,
        ok: bool,
        at: DateTime<Utc>,
        thresholds: HealthThresholds,
    ) -> StoreResult<Executor> {
        self.inner.record_health(id, ok, at, thresholds).await
    }

    async fn delete_executor(&self, id: &ExecutorId) -> StoreResult<()> {
        self.inner.delete_executor(id).await
    }

    async fn dispatch_candidates(&self, task_id: &TaskId) -> StoreResult<Vec<Candidate>> {
        self.inner.dispatch_candidates(task_id).await
    }

    async fn dispatch_candidates_of(&self, tasks: &[TaskId]) -> StoreResult<Vec<Arc<[Candidate]>>> {
        self.inner.dispatch_candidates_of(tasks).await
    }

    async fn running_counts(&self, executors: &[ExecutorId]) -> StoreResult<HashMap<ExecutorId, u64>> {
        self.inner.running_counts(executors).await
    }

    async fn claim_fire(&self, execution: &Execution, next_run_time: Option<DateTime<Utc>>) -> StoreResult<Execution> {
        self.before_claim().await;
        self.inner.claim_fire(execution, next_run_time).await
    }

    async fn claim_fires(&self, executions: &[Execution]) -> StoreResult<Vec<ClaimOutcome>> {
        self.before_claim().await;
        self.inner.claim_fires(executions).await
    }

    async fn last_fire_times(&self, tasks: &[TaskId]) -> StoreResult<HashMap<TaskId, DateTime<Utc>>> {
        self.inner.last_fire_times(tasks).await
    }

    async fn insert_execution(&self, execution: &Execution) -> StoreResult<Execution> {
        self.inner.insert_execution(execution).await
    }

    async fn get_execution(&self, id: &ExecutionId) -> StoreResult<Execution> {
        self.inner.get_execution(id).await
    }

    async fn list_executions(
        &self,
        filter: &ExecutionFilter,
        from: &ListFrom,
        page_size: u32,
    ) -> StoreResult<ExecutionPage> {
        self.inner.list_executions(filter, from, page_size).await
    }

    async fn update_execution(
        &self,
        id: &ExecutionId,
        guard: &ExecutionGuard,
        change: &ExecutionChange,
    ) -> StoreResult<Execution> {
        self.inner.update_execution(id, guard, change).await
    }

    async fn update_executions(&self, updates: &[ExecutionUpdate]) -> StoreResult<Vec<UpdateOutcome>> {
        self.inner.update_executions(updates).await
    }

    async fn task_activity(&self, task_id: &TaskId) -> StoreResult<TaskActivity> {
        self.inner.task_activity(task_id).await
    }

    async fn due_executions(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Execution>> {
        self.inner.due_executions(now, limit).await
    }

    async fn unanswered_executions(&self, limit: u32) -> StoreResult<Vec<Execution>> {
        self.inner.unanswered_executions(limit).await
    }

    async fn overdue_executions(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Execution>> {
        self.inner.overdue_executions(now, limit).await
    }

    async fn lb_state(&self, task_id: &TaskId, strategy: &str) -> StoreResult<Option<LbState>> {
        self.inner.lb_state(task_id, strategy).await
    }

    async fn put_lb_state(
        &self,
        task_id: &TaskId,
        strategy: &str,
        expected_version: Option<u64>,
        value: &serde_json::Value,
    ) -> StoreResult<()> {
        self.inner
            .put_lb_state(task_id, strategy, expected_version, value)
            .await
    }

    async fn hourly_counts(
        &self,
        task_id: &TaskId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<HourlyCounts>> {
        self.inner.hourly_counts(task_id, from, to).await
    }

    async fn purge_executions(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<u64> {
        self.inner.purge_executions(before, limit).await
    }

    async fn purge_excess_executions(&self, keep: u64, limit: u32) -> StoreResult<u64> {
        self.inner.purge_excess_executions(keep, limit).await
    }

    async fn purge_hourly_counts(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.inner.purge_hourly_counts(before).await
    }

    fn default_max_executions(&self) -> Option<u64> {
        self.inner.default_max_executions()
    }

    async fn system_counts(&self) -> StoreResult<SystemCounts> {
        self.inner.system_counts().await
    }

    async fn upsert_instance(&self, instance: &SchedulerInstance) -> StoreResult<()> {
        self.inner.upsert_instance(instance).await
    }

    async fn list_instances(&self) -> StoreResult<Vec<SchedulerInstance>> {
        self.inner.list_instances().await
    }

    async fn remove_instance(&self, instance_id: &str) -> StoreResult<()> {
        self.inner.remove_instance(instance_id).await
    }

    async fn enqueue_alert(
        &self,
        alert: &NewAlert,
        min_interval: Option<chrono::Duration>,
    ) -> StoreResult<AlertEnqueued> {
        self.inner.enqueue_alert(alert, min_interval).await
    }

    async fn due_alerts(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Alert>> {
        self.inner.due_alerts(now, limit).await
    }

    async fn record_alert_attempt(&self, id: &str, attempt: &AlertAttempt) -> StoreResult<Alert> {
        self.inner.record_alert_attempt(id, attempt).await
    }

    async fn list_alerts(&self, since: DateTime<Utc>, page: Page) -> StoreResult<Paged<Alert>> {
        self.inner.list_alerts(since, page).await
    }

    async fn alert_backlog(&self) -> StoreResult<u64> {
        self.inner.alert_backlog().await
    }

    async fn purge_alerts(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.inner.purge_alerts(before).await
    }
}
