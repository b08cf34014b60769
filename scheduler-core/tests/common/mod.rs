//! Shared harness for engine tests: a manual clock on tokio's paused time, a
//! memory store, and a fake dispatcher whose executors behave as told.
#![allow(dead_code)]

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use scheduler_core::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// 2026-01-01T00:00:00Z, the start of every test.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

pub fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

pub fn ms(n: i64) -> chrono::Duration {
    chrono::Duration::milliseconds(n)
}

/// How a fake executor answers a dispatch.
#[derive(Clone, Debug, PartialEq)]
pub enum Behavior {
    /// 2xx with a final `success` in the reply.
    Succeed,
    /// 2xx with a final `failed` in the reply.
    Fail,
    /// 2xx without a final status: running until a report or a timeout.
    Accept,
    /// Refused (non-2xx or unreachable).
    Refuse,
    /// Never answers (the engine's dispatch_timeout applies).
    Hang,
}

/// One dispatch the fake received.
#[derive(Clone, Debug)]
pub struct Call {
    pub executor_id: ExecutorId,
    pub execution_id: ExecutionId,
    pub retry_count: u32,
    pub scheduled_time: DateTime<Utc>,
    pub at: DateTime<Utc>,
    pub token: String,
}

#[derive(Default)]
pub struct FakeDispatcher {
    pub clock: Mutex<Option<ManualClock>>,
    pub calls: Mutex<Vec<Call>>,
    pub stops: Mutex<Vec<(ExecutorId, ExecutionId)>>,
    behavior: Mutex<HashMap<ExecutorId, Behavior>>,
    default: Mutex<Option<Behavior>>,
}

impl FakeDispatcher {
    pub fn set(&self, executor: &ExecutorId, b: Behavior) {
        self.behavior.lock().unwrap().insert(executor.clone(), b);
    }

    pub fn set_default(&self, b: Behavior) {
        *self.default.lock().unwrap() = Some(b);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn stops(&self) -> Vec<(ExecutorId, ExecutionId)> {
        self.stops.lock().unwrap().clone()
    }

    /// How many dispatches each executor got.
    pub fn counts(&self) -> HashMap<ExecutorId, usize> {
        let mut m = HashMap::new();
        for c in self.calls() {
            *m.entry(c.executor_id).or_insert(0) += 1;
        }
        m
    }
}

#[async_trait]
impl Dispatcher for FakeDispatcher {
    async fn dispatch(&self, executor: &Executor, request: DispatchRequest) -> DispatchOutcome {
        let now = self
            .clock
            .lock()
            .unwrap()
            .as_ref()
            .map(|c| c.now())
            .unwrap_or_else(Utc::now);
        self.calls.lock().unwrap().push(Call {
            executor_id: executor.id.clone(),
            execution_id: request.execution_id.clone(),
            retry_count: request.retry_count,
            scheduled_time: request.scheduled_time,
            at: now,
            token: request.callback_token.clone(),
        });
        let b = self
            .behavior
            .lock()
            .unwrap()
            .get(&executor.id)
            .cloned()
            .or_else(|| self.default.lock().unwrap().clone())
            .unwrap_or(Behavior::Succeed);
        let report = |status| ExecutionReport {
            status,
            result: Some(serde_json::json!({"by": executor.name})),
            logs: Some(format!("ran on {}", executor.name)),
            end_time: None,
        };
        match b {
            Behavior::Succeed => DispatchOutcome::Finished(report(ExecutionStatus::Success)),
            Behavior::Fail => DispatchOutcome::Finished(report(ExecutionStatus::Failed)),
            Behavior::Accept => DispatchOutcome::Accepted,
            Behavior::Refuse => DispatchOutcome::Refused("HTTP 503".to_owned()),
            Behavior::Hang => std::future::pending().await,
        }
    }

    async fn stop(&self, executor: &Executor, execution_id: &ExecutionId) {
        self.stops
            .lock()
            .unwrap()
            .push((executor.id.clone(), execution_id.clone()));
    }
}

/// A probe whose answer per executor base URL the test sets.
#[derive(Default)]
pub struct FakeProbe {
    pub healthy: Mutex<HashMap<String, bool>>,
    pub probes: Mutex<Vec<(ExecutorId, DateTime<Utc>)>>,
    pub clock: Mutex<Option<ManualClock>>,
}

impl FakeProbe {
    pub fn set(&self, base_url: &str, ok: bool) {
        self.healthy.lock().unwrap().insert(base_url.to_owned(), ok);
    }
}

#[async_trait]
impl HealthProbe for FakeProbe {
    async fn probe(&self, executor: &Executor) -> ProbeResult {
        let now = self
            .clock
            .lock()
            .unwrap()
            .as_ref()
            .map(|c| c.now())
            .unwrap_or_else(Utc::now);
        self.probes.lock().unwrap().push((executor.id.clone(), now));
        if *self.healthy.lock().unwrap().get(&executor.base_url).unwrap_or(&true) {
            ProbeResult::Healthy
        } else {
            ProbeResult::Unhealthy("HTTP 500".to_owned())
        }
    }
}

pub struct Harness {
    pub scheduler: Scheduler,
    pub clock: ManualClock,
    pub store: Arc<MemoryStore>,
    pub dispatcher: Arc<FakeDispatcher>,
    pub probe: Arc<FakeProbe>,
}

pub fn config() -> SchedulerConfig {
    SchedulerConfig {
        health_check_interval: std::time::Duration::from_secs(3600),
        heartbeat_interval: std::time::Duration::from_secs(30),
        ..SchedulerConfig::default()
    }
}

/// Starts an engine with a fake dispatcher on a fresh memory store.
pub async fn harness() -> Harness {
    harness_with(config(), |b| b).await
}

pub async fn harness_with(
    config: SchedulerConfig,
    customize: impl FnOnce(SchedulerBuilder) -> SchedulerBuilder,
) -> Harness {
    let store = Arc::new(MemoryStore::new());
    harness_on(store, config, customize).await
}

pub async fn harness_on(
    store: Arc<MemoryStore>,
    config: SchedulerConfig,
    customize: impl FnOnce(SchedulerBuilder) -> SchedulerBuilder,
) -> Harness {
    let engine_store: Arc<dyn Store> = store.clone();
    harness_through(store, engine_store, config, customize).await
}

/// An engine whose store is `engine_store` (a wrapper around `store`, say),
/// while the harness reads `store` directly.
pub async fn harness_through(
    store: Arc<MemoryStore>,
    engine_store: Arc<dyn Store>,
    config: SchedulerConfig,
    customize: impl FnOnce(SchedulerBuilder) -> SchedulerBuilder,
) -> Harness {
    let clock = ManualClock::new(t0());
    let dispatcher = Arc::new(FakeDispatcher::default());
    *dispatcher.clock.lock().unwrap() = Some(clock.clone());
    let probe = Arc::new(FakeProbe::default());
    *probe.clock.lock().unwrap() = Some(clock.clone());
    let builder = Scheduler::builder()
        .store(engine_store)
        .clock(Arc::new(clock.clone()))
        .dispatcher(dispatcher.clone())
        .health_probe(probe.clone())
        .config(config);
    let scheduler = customize(builder).build();
    scheduler.start().await.unwrap();
    Harness {
        scheduler,
        clock,
        store,
        dispatcher,
        probe,
    }
}

impl Harness {
    /// Lets the engine run until the clock reads `t` (tokio auto-advances
    /// through every timer on the way, in order).
    pub async fn run_until(&self, t: DateTime<Utc>) {
        if let Ok(d) = (t - self.clock.now()).to_std() {
            tokio::time::sleep(d).await;
        }
        // Let work woken at `t` itself run to completion.
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
    }

    /// Registers an executor named `name` at `http://{name}.test`.
    pub async fn executor(&self, name: &str) -> Executor {
        self.scheduler
            .register_executor(ExecutorRegistration {
                name: name.to_owned(),
                instance_id: name.to_owned(),
                base_url: format!("http://{name}.test"),
                ..ExecutorRegistration::default()
            })
            .await
            .unwrap()
            .0
    }

    /// Registers executors and returns them sorted by id (the round-robin order).
    pub async fn executors(&self, names: &[&str]) -> Vec<Executor> {
        let mut v = Vec::new();
        for n in names {
            v.push(self.executor(n).await);
        }
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    pub async fn task(&self, new: NewTask) -> Task {
        self.scheduler.create_task(new).await.unwrap()
    }

    /// Every execution of a task, whole (lists leave logs and result out),
    /// oldest scheduled_time first.
    pub async fn executions(&self, task: &TaskId) -> Vec<Execution> {
        let filter = ExecutionFilter {
            task_id: Some(task.clone()),
            ..ExecutionFilter::default()
        };
        let listed = self
            .store
            .list_executions(&filter, &ListFrom::Page(1), 10_000)
            .await
            .unwrap()
            .items;
        let mut v = Vec::with_capacity(listed.len());
        for e in listed.iter().rev() {
            v.push(self.store.get_execution(&e.id).await.unwrap());
        }
        v
    }

    pub async fn execution(&self, id: &ExecutionId) -> Execution {
        self.store.get_execution(id).await.unwrap()
    }
}
