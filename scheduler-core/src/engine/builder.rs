//! [`SchedulerBuilder`]: how a [`Scheduler`] is put together.

use crate::balance::{BalancerRegistry, LoadBalancer};
use crate::clock::{Clock, SystemClock};
use crate::dispatch::{Dispatcher, Reporter};
use crate::domain::*;
use crate::health::{AlwaysHealthy, HealthProbe};
use crate::inprocess::{Handler, InProcessDispatcher, JobContext};
use crate::leader::{AlwaysLeader, Leadership};
use crate::memory::MemoryStore;
use crate::mode::{ExecutionMode, ModeRegistry};
use crate::store::*;
use std::fmt::Display;
use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Inner, Scheduler, SchedulerConfig, outcome::EngineSink, writer};

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
        let events = tokio::sync::broadcast::Sender::new(self.config.event_capacity.max(1));
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
            book: Default::default(),
            ready: tokio::sync::watch::Sender::new(false),
            timer_rx: Mutex::new(Some(timer_rx)),
            shutdown: CancellationToken::new(),
            tracker: TaskTracker::new(),
            reporter: Reporter::new(Arc::new(EngineSink(me.clone()))),
            started: AtomicBool::new(false),
            events,
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
