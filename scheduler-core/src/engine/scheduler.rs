//! [`Scheduler`]: the engine's public face, used by embedding programs and
//! the REST API alike.

use super::timer::TimerMsg;
use super::*;
use crate::clock::Clock;
use crate::dispatch::ExecutionReport;
use crate::domain::*;
use crate::store::*;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The scheduling engine. Cheap to clone; clones share one engine.
///
/// ```no_run
/// use scheduler_core::{NewTask, Scheduler};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let scheduler = Scheduler::builder()
///     .handler("hello", |ctx| async move {
///         println!("hello at {}", ctx.scheduled_time);
///         Ok::<_, String>(serde_json::json!({"said": "hello"}))
///     })
///     .build();
/// scheduler.start().await?;
/// scheduler.add_task(NewTask::new("hello", "*/5 * * * * *")).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Scheduler {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("instance_id", &self.inner.instance_id)
            .finish_non_exhaustive()
    }
}

impl Scheduler {
    /// A builder with every default.
    pub fn builder() -> SchedulerBuilder {
        SchedulerBuilder::default()
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// This instance's id.
    pub fn instance_id(&self) -> &str {
        &self.inner.instance_id
    }

    /// The configuration.
    pub fn config(&self) -> &SchedulerConfig {
        &self.inner.config
    }

    /// Whether this instance leads now.
    pub fn is_leader(&self) -> bool {
        self.inner.is_leader()
    }

    /// Fires taken from the timer and not yet started or dropped: the fire
    /// path's backlog, at most `max_pending_fires` (also the
    /// `chronoflow_fire_backlog` gauge).
    pub fn fire_backlog(&self) -> usize {
        self.inner.fires_in_flight.load(Ordering::Acquire)
    }

    /// Completes once this instance leads and its timer has loaded every
    /// active task from the store (at once if that already happened).
    pub async fn ready(&self) {
        let mut rx = self.inner.ready.subscribe();
        let _ = rx.wait_for(|r| *r).await;
    }

    /// Subscribes to the engine's [`SchedulerEvent`](crate::SchedulerEvent)s
    /// from now on: final failures and timeouts, executor health changes,
    /// leadership changes and misfires, whether or not webhooks are
    /// configured.
    ///
    /// Each subscriber reads at its own pace from one buffer of
    /// `event_capacity` events; the engine never waits for it. A subscriber
    /// that falls further behind gets
    /// [`RecvError::Lagged(n)`](tokio::sync::broadcast::error::RecvError::Lagged):
    /// `n` events were lost to it, and it goes on with the oldest one kept.
    /// Events happen on the instance that makes the transition (a final
    /// failure reported by callback on the instance that took the callback;
    /// everything else on the leader).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<crate::SchedulerEvent> {
        self.inner.events.subscribe()
    }

    /// Registered execution mode names.
    pub fn mode_names(&self) -> Vec<String> {
        self.inner.modes.names()
    }

    /// Registered strategy names.
    pub fn strategy_names(&self) -> Vec<String> {
        self.inner.balancers.names()
    }

    /// Starts the engine: registers the dispatcher's local executors, joins
    /// the leader election and starts the timer, sweeper, health and
    /// heartbeat loops. Calling it twice does nothing the second time.
    pub async fn start(&self) -> SchedulerResult<()> {
        let inner = &self.inner;
        if inner.started.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        super::metrics::describe();
        for reg in inner.dispatcher.local_executors(&inner.instance_id) {
            let now = inner.now();
            // Local executors are not HTTP services; their URL is informative
            // and not validated.
            let executor = Executor::registered(ExecutorId::generate(), reg, now);
            inner.store.register_executor(&executor).await?;
        }
        inner.leadership.start(&inner.instance_id).await;
        let rx = inner.timer_rx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(rx) = rx {
            let me = inner.clone();
            inner.spawn(async move { timer::run(me, rx).await });
        }
        let rx = inner.writes_rx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(rx) = rx {
            let me = inner.clone();
            inner.spawn(async move { me.run_writer(rx).await });
        }
        background::start(inner);
        let me = inner.clone();
        inner.spawn(events::watch_leadership(me));
        tracing::info!(instance_id = %inner.instance_id, "scheduler started");
        Ok(())
    }

    /// Stops cleanly: no new fires; in-process work gets
    /// `shutdown_grace` to finish, then is cancelled and recorded as a failed
    /// attempt (retried by the next leader when retries are left); in-flight
    /// dispatches finish; leadership is released; the instance row removed.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        if inner.shutdown.is_cancelled() {
            return;
        }
        inner.shutdown.cancel();
        let grace = inner.config.shutdown_grace;
        for id in inner.dispatcher.drain(grace).await {
            if let Ok(e) = inner.store.get_execution(&id).await {
                let _ = inner
                    .fail_attempt(
                        &e,
                        None,
                        "scheduler shut down while the attempt ran",
                        ExecutionStatus::Failed,
                    )
                    .await;
            }
        }
        inner.tracker.close();
        if tokio::time::timeout(grace, inner.tracker.wait()).await.is_err() {
            tracing::warn!("engine work still running after the shutdown grace period");
        }
        inner.leadership.release().await;
        metrics::leader(false);
        if let Err(e) = inner.store.remove_instance(&inner.instance_id).await {
            tracing::warn!(error = %e, "could not remove the instance row");
        }
        tracing::info!(instance_id = %inner.instance_id, "scheduler stopped");
    }

    // ---- tasks --------------------------------------------------------------

    /// Creates a task (alias of [`Scheduler::create_task`]).
    pub async fn add_task(&self, new: NewTask) -> SchedulerResult<Task> {
        self.create_task(new).await
    }

    /// Validates and creates a task with its assignments; it fires from its
    /// next instant on.
    pub async fn create_task(&self, new: NewTask) -> SchedulerResult<Task> {
        let inner = &self.inner;
        let now = inner.now();
        let (task, executors) = new.validate(TaskId::generate(), now)?;
        inner.check_plugins(&task)?;
        let task = inner
            .store
            .create_task(&task, &executors)
            .await
            .map_err(assignment_error)?;
        inner.notify(&task);
        tracing::info!(task_id = %task.id, name = %task.name, "task created");
        Ok(task)
    }

    /// A task by id, deleted ones included, with its next instant as of now
    /// (see [`Scheduler::list_tasks`]).
    pub async fn get_task(&self, id: &TaskId) -> SchedulerResult<Task> {
        let mut task = self.inner.store.get_task(id).await?;
        self.inner.present(&mut task);
        Ok(task)
    }

    /// Tasks matching `filter`, newest first. An active task's
    /// `next_run_time` is its next instant after now: the store's copy is not
    /// rewritten by every fire (the engine derives it from the fires
    /// claimed), so the stored value may lag behind.
    pub async fn list_tasks(&self, filter: &TaskFilter, page: Page) -> SchedulerResult<Paged<Task>> {
        let mut found = self.inner.store.list_tasks(filter, page).await?;
        for task in &mut found.items {
            self.inner.present(task);
        }
        Ok(found)
    }

    /// Changes the fields given; a schedule change takes effect at once.
    pub async fn update_task(&self, id: &TaskId, patch: TaskPatch) -> SchedulerResult<Task> {
        let inner = &self.inner;
        let current = inner.live_task(id).await?;
        let now = inner.now();
        let (task, executors) = patch.apply(&current, now)?;
        inner.check_plugins(&task)?;
        let task = inner
            .store
            .update_task(&task, executors.as_deref())
            .await
            .map_err(assignment_error)?;
        inner.notify(&task);
        Ok(task)
    }

    /// Pauses a task (no fires until resumed); pausing a paused task is a no-op.
    pub async fn pause_task(&self, id: &TaskId) -> SchedulerResult<Task> {
        let inner = &self.inner;
        let mut task = inner.live_task(id).await?;
        if task.status == TaskStatus::Paused {
            return Ok(task);
        }
        task.status = TaskStatus::Paused;
        task.next_run_time = None;
        task.updated_at = inner.now();
        let task = inner.store.update_task(&task, None).await?;
        inner.notify(&task);
        Ok(task)
    }

    /// Resumes a paused task from its next instant (missed instants are not fired).
    pub async fn resume_task(&self, id: &TaskId) -> SchedulerResult<Task> {
        let inner = &self.inner;
        let mut task = inner.live_task(id).await?;
        if task.status == TaskStatus::Active {
            return Ok(task);
        }
        let now = inner.now();
        task.status = TaskStatus::Active;
        task.next_run_time = task.schedule()?.next_after(now);
        task.updated_at = now;
        let task = inner.store.update_task(&task, None).await?;
        inner.notify(&task);
        Ok(task)
    }

    /// Soft-deletes a task: it never fires again; its history stays.
    pub async fn delete_task(&self, id: &TaskId) -> SchedulerResult<()> {
        let inner = &self.inner;
        let task = inner.store.delete_task(id, inner.now()).await?;
        inner.notify(&task);
        Ok(())
    }

    /// Runs a task now, whatever its mode and even while paused. `parameters`
    /// are shallow-merged over the task's.
    pub async fn trigger(&self, id: &TaskId, parameters: Option<JsonObject>) -> SchedulerResult<Execution> {
        let inner = &self.inner;
        let task = inner.live_task(id).await?;
        let mut merged = task.parameters.clone().unwrap_or_default();
        let had_any = task.parameters.is_some() || parameters.is_some();
        if let Some(over) = parameters {
            validate_parameters("parameters", Some(&over))?;
            merged.extend(over);
        }
        validate_parameters("parameters", Some(&merged))?;
        let now = inner.now();
        let params = had_any.then_some(serde_json::Value::Object(merged));
        let exec = Execution::new_pending(task.id.clone(), TriggerType::Manual, now, params, now);
        let exec = inner.store.insert_execution(&exec).await?;
        tracing::info!(task_id = %task.id, execution_id = %exec.id, "manual trigger");
        if inner.is_leader()
            && let Some(me) = inner.arc()
        {
            let (e, t) = (exec.clone(), Arc::new(task));
            inner.spawn(async move { me.dispatch_pending(e, Some(t)).await });
        }
        Ok(exec)
    }

    /// The task's assignments.
    pub async fn task_executors(&self, id: &TaskId) -> SchedulerResult<Vec<TaskExecutor>> {
        Ok(self.inner.store.task_executors(id).await?)
    }

    /// Replaces the task's assignments.
    pub async fn set_task_executors(
        &self,
        id: &TaskId,
        executors: Vec<TaskExecutorInput>,
    ) -> SchedulerResult<Vec<TaskExecutor>> {
        let list = TaskExecutorInput::validate_all(&executors)?;
        self.inner
            .store
            .replace_task_executors(id, &list)
            .await
            .map_err(assignment_error)
    }

    /// Statistics of a task: counts, rates and health score per window (docs/decisions.md, "Tasks").
    pub async fn task_stats(&self, id: &TaskId) -> SchedulerResult<TaskStats> {
        let inner = &self.inner;
        inner.store.get_task(id).await?;
        let now = inner.now();
        let (first, current) = stats::hours_read(now);
        let hours = inner.store.hourly_counts(id, first, current).await?;
        Ok(stats::from_hours(now, &hours))
    }

    /// Runs one history purge pass now (the leader runs one every
    /// `history.purge_interval`): final executions past the retention, then
    /// those beyond `max_executions`, then hourly counters older than 400
    /// days. On a started scheduler only the leader purges.
    pub async fn purge_history(&self) -> SchedulerResult<PurgeReport> {
        Ok(self.inner.purge_history().await?)
    }

    // ---- executors ----------------------------------------------------------

    /// Registers an executor, or updates the one with the same `instance_id`;
    /// it is probed at once.
    pub async fn register_executor(&self, reg: ExecutorRegistration) -> SchedulerResult<(Executor, Registered)> {
        let inner = &self.inner;
        let executor = reg.validate(ExecutorId::generate(), inner.now())?;
        let (executor, how) = inner.store.register_executor(&executor).await?;
        tracing::info!(executor_id = %executor.id, instance_id = %executor.instance_id, ?how, "executor registered");
        inner.probe_soon(executor.clone());
        Ok((executor, how))
    }

    /// Changes the fields given.
    pub async fn update_executor(&self, id: &ExecutorId, patch: ExecutorPatch) -> SchedulerResult<Executor> {
        let inner = &self.inner;
        let current = inner.store.get_executor(id).await?;
        let e = patch.apply(&current, inner.now())?;
        Ok(inner.store.update_executor(&e).await?)
    }

    /// Sets the administrative status; `reason` goes to the log.
    pub async fn set_executor_status(
        &self,
        id: &ExecutorId,
        status: ExecutorStatus,
        reason: Option<String>,
    ) -> SchedulerResult<Executor> {
        let inner = &self.inner;
        let e = inner.store.set_executor_status(id, status, inner.now()).await?;
        tracing::info!(executor_id = %id, status = status.as_str(), reason = reason.as_deref().unwrap_or(""), "executor status changed");
        Ok(e)
    }

    /// Deletes an executor; its executions keep their history.
    pub async fn delete_executor(&self, id: &ExecutorId) -> SchedulerResult<()> {
        Ok(self.inner.store.delete_executor(id).await?)
    }

    // ---- executions ---------------------------------------------------------

    /// Cancels a pending or running execution and asks its executor to stop.
    /// `Conflict` when it is already final.
    pub async fn stop_execution(&self, id: &ExecutionId) -> SchedulerResult<Execution> {
        self.inner.stop_execution(id).await
    }

    /// Applies an executor's report (the callback), authenticated by the
    /// attempt's callback token. `Unauthorized` for a wrong token, `Conflict`
    /// when the execution is already final.
    pub async fn report(&self, id: &ExecutionId, token: &str, report: ExecutionReport) -> SchedulerResult<Execution> {
        self.inner.report(id, token, report).await
    }

    /// Leader, instances and counts.
    pub async fn system_status(&self) -> SchedulerResult<SystemStatus> {
        let inner = &self.inner;
        let now = inner.now();
        let (rows, counts) = tokio::try_join!(inner.store.list_instances(), inner.store.system_counts())?;
        let stale = chrono::Duration::from_std(inner.config.heartbeat_interval * 3).unwrap_or_default();
        let instances = rows
            .into_iter()
            .map(|i| InstanceInfo {
                alive: now - i.last_heartbeat <= stale,
                instance_id: i.instance_id,
                hostname: i.hostname,
                is_leader: i.is_leader,
                started_at: i.started_at,
                last_heartbeat: i.last_heartbeat,
            })
            .collect();
        Ok(SystemStatus {
            instance_id: inner.instance_id.clone(),
            leader: inner.is_leader(),
            instances,
            counts,
        })
    }
}

/// An unknown executor in an assignment list is the client's mistake.
fn assignment_error(e: StoreError) -> SchedulerError {
    match e {
        StoreError::NotFound { kind: "executor", id } => {
            ValidationError::new("executors", format!("unknown executor {id}")).into()
        }
        other => other.into(),
    }
}

impl Inner {
    /// A task that exists and is not deleted (`Conflict` for a deleted one).
    async fn live_task(&self, id: &TaskId) -> SchedulerResult<Task> {
        let task = self.store.get_task(id).await?;
        if task.status == TaskStatus::Deleted {
            return Err(StoreError::Conflict(format!("task {id} is deleted")).into());
        }
        Ok(task)
    }

    /// Shows an active task's next instant after now when the stored one
    /// has passed.
    fn present(&self, task: &mut Task) {
        let now = self.now();
        if task.status == TaskStatus::Active && task.next_run_time.is_none_or(|n| n <= now) {
            task.next_run_time = task.schedule().ok().and_then(|s| s.next_after(now));
        }
    }

    fn check_plugins(&self, task: &Task) -> SchedulerResult<()> {
        if self.modes.get(task.execution_mode.as_str()).is_none() {
            return Err(ValidationError::new(
                "execution_mode",
                format!(
                    "unknown mode {:?} (known: {})",
                    task.execution_mode.as_str(),
                    self.modes.names().join(", ")
                ),
            )
            .into());
        }
        if self.balancers.get(task.load_balance_strategy.as_str()).is_none() {
            return Err(ValidationError::new(
                "load_balance_strategy",
                format!(
                    "unknown strategy {:?} (known: {})",
                    task.load_balance_strategy.as_str(),
                    self.balancers.names().join(", ")
                ),
            )
            .into());
        }
        Ok(())
    }

    /// Tells this instance's timer about a changed task.
    fn notify(&self, task: &Task) {
        self.book.note_change(&task.id, self.now());
        let _ = self.timer_tx.send(TimerMsg::Upsert(Arc::new(task.clone())));
    }
}
