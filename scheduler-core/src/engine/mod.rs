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
mod book;
mod builder;
mod config;
mod events;
mod fire;
mod history;
pub mod metrics;
mod outcome;
mod recovery;
mod scheduler;
mod stats;
mod stop;
mod timer;
mod writer;

pub use builder::{SchedulerBuilder, hostname};
pub use config::{HistoryConfig, ROLLUP_RETENTION, SchedulerConfig};
pub use history::PurgeReport;
pub use scheduler::Scheduler;
pub use stats::{DailyStats, TaskStats, WindowStats};

use crate::balance::BalancerRegistry;
use crate::clock::Clock;
use crate::dispatch::{Dispatcher, Reporter};
use crate::domain::*;
use crate::health::HealthProbe;
use crate::leader::Leadership;
use crate::mode::ModeRegistry;
use crate::store::*;
use chrono::{DateTime, Utc};
use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, Weak};
use timer::TimerMsg;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Errors of engine operations.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
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

/// A scheduler process as shown by `GET /system/status`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
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
#[non_exhaustive]
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
    /// What this instance changed, stopped or could not hand back while
    /// fires were prepared ahead of their instant (see `book`).
    pub(crate) book: book::FireBook,
    /// True once this instance leads and its timer has loaded the tasks.
    pub(crate) ready: tokio::sync::watch::Sender<bool>,
    pub(crate) timer_rx: Mutex<Option<mpsc::UnboundedReceiver<TimerMsg>>>,
    pub(crate) permits: Semaphore,
    /// The execution writer's queue (see `writer`).
    pub(crate) writes: writer::WriteQueue,
    pub(crate) writes_rx: Mutex<Option<writer::WriteReceiver>>,
    /// Fires taken from the timer and not yet started or dropped.
    pub(crate) fires_in_flight: std::sync::atomic::AtomicUsize,
    /// Wakes the timer when in-flight fires went below `max_pending_fires`.
    pub(crate) fires_done: tokio::sync::Notify,
    pub(crate) shutdown: CancellationToken,
    pub(crate) tracker: TaskTracker,
    /// Hands in-process reports back to this engine.
    pub(crate) reporter: Reporter,
    pub(crate) started: AtomicBool,
    /// Events to subscribers (see `crate::events`).
    pub(crate) events: tokio::sync::broadcast::Sender<crate::events::SchedulerEvent>,
    pub(crate) me: Weak<Inner>,
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
