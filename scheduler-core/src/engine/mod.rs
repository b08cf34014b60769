//! The scheduling engine: [`Scheduler`] and its builder.
//!
//! One `Scheduler` runs in every process. Every instance serves reads and
//! writes (the REST API calls these methods); only the leader fires
//! scheduled tasks, dispatches, retries, times out and probes executors.
//!
//! ```text
//!  timer loop ──(batch of due fires, `fire_ahead` early)──▶ prepare: pick executor, claim with
//!      ▲                                                     the attempt recorded (one write),
//!      │ task changes (this instance: at once;               Dispatcher::prepare (in-process)
//!      │ other instances: polled every second)               │ at the instant
//!      │                                                     ▼
//!  sweeper (every second): overdue → timeout/retry;      start / dispatch ──▶ Dispatcher
//!  pending & due → dispatch                                  │
//!                                          finished at once → final (one write)
//!                                          accepted → running → report → final
//! ```

mod attempt;
mod background;
mod fire;
pub mod metrics;
mod outcome;
mod recovery;
mod stats;
mod stop;
mod timer;
mod writer;

pub use stats::{DailyStats, TaskStats, WindowStats};

use crate::balance::{BalancerRegistry, LoadBalancer};
use crate::clock::{Clock, SystemClock};
use crate::dispatch::{Dispatcher, ExecutionReport, ReportSink, Reporter};
use crate::domain::*;
use crate::health::{AlwaysHealthy, HealthProbe};
use crate::inprocess::{Handler, InProcessDispatcher, JobContext};
use crate::leader::{AlwaysLeader, Leadership};
use crate::memory::MemoryStore;
use crate::mode::{ExecutionMode, ModeRegistry};
use crate::store::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::fmt::Display;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use timer::TimerMsg;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Errors of engine operations.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SchedulerError {
    /// The input broke a rule; the server answers 400 `validation_failed`.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The store refused or failed (not found, conflict, unavailable...).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A report came with a missing or wrong callback token.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
}

/// Result of an engine operation.
pub type SchedulerResult<T> = Result<T, SchedulerError>;

/// Tunables, with the contract's defaults (CONTRACT §5 `scheduler` and `health_check`).
#[derive(Clone, Debug)]
pub struct SchedulerConfig {
    /// How often this instance writes its heartbeat (30 s).
    pub heartbeat_interval: Duration,
    /// Dispatches in flight at once (10).
    pub max_workers: usize,
    /// A fire later than this is a misfire (5 s).
    pub misfire_threshold: Duration,
    /// How long an executor has to accept a dispatch (10 s).
    pub dispatch_timeout: Duration,
    /// First retry delay; doubles per attempt (1 s).
    pub retry_backoff: Duration,
    /// Longest retry delay (60 s).
    pub retry_backoff_max: Duration,
    /// Health probe period (30 s).
    pub health_check_interval: Duration,
    /// Health probe timeout (10 s).
    pub health_check_timeout: Duration,
    /// Failure and recovery thresholds (3 and 2).
    pub health_thresholds: HealthThresholds,
    /// How often changes written by other instances are polled (1 s).
    pub change_poll_interval: Duration,
    /// How often overdue and due executions are swept (1 s).
    pub sweep_interval: Duration,
    /// How far ahead of its instant a `parallel` fire is claimed and its
    /// attempt recorded, so the instant itself only costs the dispatch (500 ms).
    pub fire_ahead: Duration,
    /// How long shutdown waits for in-process work before cancelling it (10 s).
    pub shutdown_grace: Duration,
    /// Fires taken from the timer but not yet started, at most (50 000).
    /// When the store cannot keep up, the timer stops taking fires at this
    /// bound: the due fires stay in the timer, late, and once later than
    /// `misfire_threshold` their task's misfire policy decides. Bounds the
    /// memory of an overloaded engine.
    pub max_pending_fires: usize,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            heartbeat_interval: Duration::from_secs(30),
            max_workers: 10,
            misfire_threshold: Duration::from_secs(5),
            dispatch_timeout: Duration::from_secs(10),
            retry_backoff: Duration::from_secs(1),
            retry_backoff_max: Duration::from_secs(60),
            health_check_interval: Duration::from_secs(30),
            health_check_timeout: Duration::from_secs(10),
            health_thresholds: HealthThresholds::default(),
            change_poll_interval: Duration::from_secs(1),
            sweep_interval: Duration::from_secs(1),
            fire_ahead: Duration::from_millis(500),
            shutdown_grace: Duration::from_secs(10),
            max_pending_fires: 50_000,
        }
    }
}

impl SchedulerConfig {
    /// The delay before retry number `n + 1` after attempt `n` failed:
    /// `retry_backoff × 2ⁿ`, at most `retry_backoff_max`.
    ///
    /// ```text
    /// attempt:   0 fails   1 fails   2 fails   3 fails ... 6 fails   7 fails
    /// delay:     1 s       2 s       4 s       8 s         60 s      60 s
    /// ```
    pub fn backoff(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.min(31));
        self.retry_backoff
            .checked_mul(factor)
            .unwrap_or(self.retry_backoff_max)
            .min(self.retry_backoff_max)
    }
}

/// A scheduler process as shown by `GET /system/status`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct InstanceInfo {
    /// Instance id.
    pub instance_id: String,
    /// Host name.
    pub hostname: String,
    /// Leader at its last heartbeat.
    pub is_leader: bool,
    /// Heartbeat within the last three intervals.
    pub alive: bool,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Its last heartbeat.
    pub last_heartbeat: DateTime<Utc>,
}

/// Everything `GET /system/status` reports.
#[derive(Clone, Debug, PartialEq)]
pub struct SystemStatus {
    /// This instance.
    pub instance_id: String,
    /// Whether this instance leads.
    pub leader: bool,
    /// Every known instance.
    pub instances: Vec<InstanceInfo>,
    /// Executor, task and execution counts.
    pub counts: SystemCounts,
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) dispatcher: Arc<dyn Dispatcher>,
    pub(crate) probe: Arc<dyn HealthProbe>,
    pub(crate) leadership: Arc<dyn Leadership>,
    pub(crate) balancers: BalancerRegistry,
    pub(crate) modes: ModeRegistry,
    pub(crate) config: SchedulerConfig,
    pub(crate) instance_id: String,
    pub(crate) hostname: String,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) timer_tx: mpsc::UnboundedSender<TimerMsg>,
    /// Tasks this instance changed recently, and when: a fire prepared before
    /// such a change is re-checked at its instant.
    pub(crate) recent_changes: Mutex<RecentChanges>,
    /// Executions stopped through this instance while their attempt was
    /// recorded but maybe not sent (a fire prepared for its instant), and
    /// when: a prepared fire found here is not sent.
    pub(crate) stopped_early: Mutex<std::collections::HashMap<ExecutionId, DateTime<Utc>>>,
    /// How many entries `stopped_early` has: the instant reads this, not the map.
    pub(crate) stopped_early_len: std::sync::atomic::AtomicUsize,
    /// Attempts this instance recorded as sent but never sent (it lost
    /// leadership before their instant and could not hand them back): handed
    /// back when it leads again, instead of waiting for their timeout.
    pub(crate) unsent: Mutex<Vec<(ExecutionId, u32)>>,
    /// True once this instance leads and its timer has loaded the tasks.
    pub(crate) ready: tokio::sync::watch::Sender<bool>,
    timer_rx: Mutex<Option<mpsc::UnboundedReceiver<TimerMsg>>>,
    pub(crate) permits: Semaphore,
    /// The execution writer's queue (see `writer`).
    pub(crate) writes: writer::WriteQueue,
    writes_rx: Mutex<Option<writer::WriteReceiver>>,
    /// Fires taken from the timer and not yet started or dropped.
    pub(crate) fires_in_flight: std::sync::atomic::AtomicUsize,
    /// Wakes the timer when in-flight fires went below `max_pending_fires`.
    pub(crate) fires_done: tokio::sync::Notify,
    pub(crate) shutdown: CancellationToken,
    pub(crate) tracker: TaskTracker,
    /// Hands in-process reports back to this engine.
    pub(crate) reporter: Reporter,
    pub(crate) started: AtomicBool,
    me: Weak<Inner>,
}

impl Inner {
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub(crate) fn is_leader(&self) -> bool {
        self.leadership.is_leader() && !self.shutdown.is_cancelled()
    }

    /// Spawns engine work that shutdown waits for.
    pub(crate) fn spawn<F: Future<Output = ()> + Send + 'static>(&self, f: F) {
        self.tracker.spawn(f);
    }

    pub(crate) fn arc(&self) -> Option<Arc<Inner>> {
        self.me.upgrade()
    }
}

/// Tasks this instance changed, and when; `last` answers "anything since?"
/// without a scan.
#[derive(Default)]
pub(crate) struct RecentChanges {
    pub(crate) by_task: std::collections::HashMap<TaskId, DateTime<Utc>>,
    pub(crate) last: Option<DateTime<Utc>>,
}

struct EngineSink(Weak<Inner>);

/// How long an in-process report is retried while the store is unavailable.
const REPORT_RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(600);

#[async_trait]
impl ReportSink for EngineSink {
    /// Applies a handler's report; while the store is unavailable, retries
    /// with backoff (like an HTTP executor retries its callback), so a result
    /// is not lost to a database outage.
    async fn report(&self, execution_id: &ExecutionId, token: &str, report: ExecutionReport) {
        let mut delay = std::time::Duration::from_millis(100);
        let started = tokio::time::Instant::now();
        loop {
            let Some(inner) = self.0.upgrade() else { return };
            match inner.report(execution_id, token, report.clone()).await {
                Err(SchedulerError::Store(StoreError::Unavailable(e)))
                    if started.elapsed() < REPORT_RETRY_FOR && !inner.shutdown.is_cancelled() =>
                {
                    tracing::warn!(execution_id = %execution_id, error = %e, ?delay, "report not recorded yet; retrying");
                    drop(inner);
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(std::time::Duration::from_secs(5));
                }
                Err(e) => {
                    tracing::debug!(execution_id = %execution_id, error = %e, "in-process report not applied");
                    return;
                }
                Ok(_) => return,
            }
        }
    }
}

/// Builds a [`Scheduler`]. Every part has a default: the memory store, the
/// system clock, a single always-leading instance, and the in-process
/// dispatcher with the handlers given here.
#[derive(Default)]
pub struct SchedulerBuilder {
    store: Option<Arc<dyn Store>>,
    clock: Option<Arc<dyn Clock>>,
    dispatcher: Option<Arc<dyn Dispatcher>>,
    probe: Option<Arc<dyn HealthProbe>>,
    leadership: Option<Arc<dyn Leadership>>,
    handlers: InProcessDispatcher,
    balancers: BalancerRegistry,
    modes: ModeRegistry,
    config: SchedulerConfig,
    instance_id: Option<String>,
}

impl SchedulerBuilder {
    /// The store (default: a new [`MemoryStore`]).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The clock (default: [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// How executions reach executors (default: in-process handlers).
    pub fn dispatcher(mut self, dispatcher: Arc<dyn Dispatcher>) -> Self {
        self.dispatcher = Some(dispatcher);
        self
    }

    /// The health probe (default: always healthy).
    pub fn health_probe(mut self, probe: Arc<dyn HealthProbe>) -> Self {
        self.probe = Some(probe);
        self
    }

    /// Leader election (default: always the leader).
    pub fn leadership(mut self, leadership: Arc<dyn Leadership>) -> Self {
        self.leadership = Some(leadership);
        self
    }

    /// Tunables.
    pub fn config(mut self, config: SchedulerConfig) -> Self {
        self.config = config;
        self
    }

    /// This instance's id (default: host name and a random suffix).
    pub fn instance_id(mut self, id: impl Into<String>) -> Self {
        self.instance_id = Some(id.into());
        self
    }

    /// Runs tasks named `name` with `f`, in this process.
    pub fn handler<F, Fut, E>(mut self, name: impl Into<String>, f: F) -> Self
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<serde_json::Value, E>> + Send + 'static,
        E: Display + 'static,
    {
        self.handlers.register(name, Handler::new(f));
        self
    }

    /// Registers a load-balancing strategy under `name`.
    pub fn balancer(mut self, name: impl Into<String>, balancer: Arc<dyn LoadBalancer>) -> Self {
        self.balancers.register(StrategyName::new(name), balancer);
        self
    }

    /// Registers an execution mode under `name`.
    pub fn mode(mut self, name: impl Into<String>, mode: Arc<dyn ExecutionMode>) -> Self {
        self.modes.register(ModeName::new(name), mode);
        self
    }

    /// Builds the scheduler; [`Scheduler::start`] starts it.
    pub fn build(self) -> Scheduler {
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let hostname = hostname();
        let instance_id = self
            .instance_id
            .unwrap_or_else(|| format!("{hostname}-{:08x}", rand::random::<u32>()));
        let (timer_tx, timer_rx) = mpsc::unbounded_channel();
        let (writes, writes_rx) = writer::queue();
        let started_at = clock.now();
        let inner = Arc::new_cyclic(|me| Inner {
            store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
            clock,
            dispatcher: self.dispatcher.unwrap_or_else(|| Arc::new(self.handlers)),
            probe: self.probe.unwrap_or_else(|| Arc::new(AlwaysHealthy)),
            leadership: self.leadership.unwrap_or_else(|| Arc::new(AlwaysLeader::default())),
            balancers: self.balancers,
            modes: self.modes,
            permits: Semaphore::new(self.config.max_workers.max(1)),
            writes,
            writes_rx: Mutex::new(Some(writes_rx)),
            fires_in_flight: std::sync::atomic::AtomicUsize::new(0),
            fires_done: tokio::sync::Notify::new(),
            config: self.config,
            instance_id,
            hostname,
            started_at,
            timer_tx,
            recent_changes: Mutex::new(RecentChanges::default()),
            stopped_early: Mutex::new(std::collections::HashMap::new()),
            stopped_early_len: std::sync::atomic::AtomicUsize::new(0),
            ready: tokio::sync::watch::Sender::new(false),
            unsent: Mutex::new(Vec::new()),
            timer_rx: Mutex::new(Some(timer_rx)),
            shutdown: CancellationToken::new(),
            tracker: TaskTracker::new(),
            reporter: Reporter::new(Arc::new(EngineSink(me.clone()))),
            started: AtomicBool::new(false),
            me: me.clone(),
        });
        Scheduler { inner }
    }
}

/// This machine's host name (`$HOSTNAME`, then `/etc/hostname`, else
/// `localhost`), as written into the instance rows.
pub fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

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
    inner: Arc<Inner>,
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
    /// `scheduler_fire_backlog` gauge).
    pub fn fire_backlog(&self) -> usize {
        self.inner.fires_in_flight.load(Ordering::Acquire)
    }

    /// Completes once this instance leads and its timer has loaded every
    /// active task from the store (at once if that already happened).
    pub async fn ready(&self) {
        let mut rx = self.inner.ready.subscribe();
        let _ = rx.wait_for(|r| *r).await;
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
        for reg in inner.dispatcher.local_executors(&inner.instance_id) {
            let now = inner.now();
            // Local executors are not HTTP services; their URL is informative.
            let executor = Executor {
                id: ExecutorId::generate(),
                name: reg.name,
                instance_id: reg.instance_id,
                base_url: reg.base_url,
                health_check_url: reg.health_check_url,
                status: ExecutorStatus::Online,
                is_healthy: true,
                last_health_check: None,
                health_check_failures: 0,
                health_check_successes: 0,
                metadata: reg.metadata,
                created_at: now,
                updated_at: now,
            };
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

    /// Statistics of a task (CONTRACT §2).
    pub async fn task_stats(&self, id: &TaskId) -> SchedulerResult<TaskStats> {
        let inner = &self.inner;
        inner.store.get_task(id).await?;
        let now = inner.now();
        let [d1, d7, d90] = stats::window_starts(now);
        let s = &inner.store;
        let (c1, c7, c90, days) = tokio::try_join!(
            s.execution_counts(id, d1, now),
            s.execution_counts(id, d7, now),
            s.execution_counts(id, d90, now),
            s.daily_counts(id, stats::trend_start(now), now),
        )?;
        let last_7d = WindowStats::from_counts(&c7);
        Ok(TaskStats {
            last_24h: WindowStats::from_counts(&c1),
            health_score: last_7d.health_score(),
            last_7d,
            last_90d: WindowStats::from_counts(&c90),
            daily: stats::daily_rows(now, &days),
        })
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
        let now = self.now();
        let mut recent = self.recent_changes.lock().unwrap_or_else(|p| p.into_inner());
        recent.by_task.insert(task.id.clone(), now);
        recent.last = recent.last.max(Some(now));
        drop(recent);
        let _ = self.timer_tx.send(TimerMsg::Upsert(Arc::new(task.clone())));
    }
}
