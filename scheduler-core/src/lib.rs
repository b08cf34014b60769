//! # scheduler-core
//!
//! The embeddable heart of the scheduler: the domain model, cron schedules in
//! IANA time zones, the [`Store`] persistence boundary with an in-memory
//! implementation, and the scheduling engine.
//!
//! A [`Scheduler`] fires tasks on their cron schedule (six fields, with
//! seconds) and runs each fire on an executor: an async handler in this
//! process ([`SchedulerBuilder::handler`]) or anything a [`Dispatcher`]
//! reaches. Every fire is an [`Execution`] that ends in a final
//! [`ExecutionStatus`], with retries, timeouts and misfire handling on the
//! way. Its defaults need nothing else: the [`MemoryStore`], the
//! [`SystemClock`], round-robin balancing, and this process as the only
//! leader. `scheduler-mysql` provides a MySQL/MariaDB [`Store`] and
//! [`Leadership`] for a cluster of schedulers.
//!
//! What a program embedding the scheduler uses is re-exported here: the
//! [`Scheduler`] and its [`SchedulerBuilder`], the traits it is built from
//! ([`Store`], [`Dispatcher`], [`HealthProbe`], [`Leadership`],
//! [`LoadBalancer`], [`ExecutionMode`], [`Clock`]), the domain types and the
//! errors. A new store backend also needs the store's answer and query types,
//! re-exported here too, and the conformance suite in `testing` (feature
//! `test-util`).
//!
//! # Example
//!
//! An embedded scheduler with one in-process handler; the task is triggered
//! by hand so the example does not wait for its schedule:
//!
//! ```
//! use scheduler_core::{ExecutionStatus, NewTask, Scheduler};
//! use std::time::Duration;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let scheduler = Scheduler::builder()
//!     .handler("cleanup", |ctx| async move {
//!         // `ctx.execution_id` stays the same across retries: an idempotency key.
//!         println!("cleaning up, run {} of {}", ctx.execution_id, ctx.task.name);
//!         Ok::<_, String>(serde_json::json!({ "removed": 3 }))
//!     })
//!     .build();
//! scheduler.start().await?;
//!
//! // At 03:00 every day in Berlin; the handler is the one named like the task.
//! let task = NewTask::new("cleanup", "0 0 3 * * *").timezone("Europe/Berlin");
//! let task = scheduler.add_task(task).await?;
//!
//! // A manual run, now; its execution reaches a final status.
//! let execution = scheduler.trigger(&task.id, None).await?;
//! let finished = loop {
//!     let now = scheduler.store().get_execution(&execution.id).await?;
//!     if now.status.is_final() {
//!         break now;
//!     }
//!     tokio::time::sleep(Duration::from_millis(10)).await;
//! };
//! assert_eq!(finished.status, ExecutionStatus::Success);
//! assert_eq!(finished.result, Some(serde_json::json!({ "removed": 3 })));
//!
//! scheduler.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Schedules on their own: the next instants of a cron expression in a zone,
//! daylight-saving changes included.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use scheduler_core::Schedule;
//!
//! let schedule = Schedule::new("0 30 2 * * *", "Europe/Berlin")?; // 02:30 local time
//! let from = Utc.with_ymd_and_hms(2026, 3, 28, 12, 0, 0).unwrap();
//! // 29 March 2026: clocks jump from 02:00 to 03:00 in Berlin, so there is no
//! // 02:30; the fire comes at 03:00 local time, when the gap ends.
//! let next: Vec<String> = schedule.upcoming(from, 2).iter().map(|t| t.to_rfc3339()).collect();
//! assert_eq!(next, ["2026-03-29T01:00:00+00:00", "2026-03-30T00:30:00+00:00"]);
//! # Ok::<(), scheduler_core::ValidationError>(())
//! ```
//!
//! # Features
//!
//! - `test-util`: `ManualClock` (time driven by tokio's paused clock) and the
//!   module `testing`, the conformance suite every [`Store`] must pass.
//! - `openapi`: `utoipa::ToSchema` on the input types and the closed enums,
//!   for a server that documents them in an OpenAPI document.
//!
//! The operator and embedder guides are in the repository's `docs/`
//! (`docs/embedding.md`).

#![cfg_attr(docsrs, feature(doc_cfg))]

/// This crate's `README.md`: its examples are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

mod domain;
mod engine;
mod inprocess;
mod memory;
mod store;

pub mod balance;
pub mod clock;
pub mod dispatch;
pub mod events;
pub mod health;
pub mod leader;
pub mod mode;
pub mod schedule;
#[cfg(feature = "test-util")]
pub mod testing;

// ---- the engine -----------------------------------------------------------

pub use engine::{
    DailyStats, HistoryConfig, InstanceInfo, PurgeReport, ROLLUP_RETENTION, Scheduler, SchedulerBuilder,
    SchedulerConfig, SchedulerError, SchedulerResult, SystemStatus, TaskStats, WindowStats, metrics,
};
pub use events::{EventKind, EventSubject, SchedulerEvent};

// ---- what it is built from ------------------------------------------------

pub use balance::{BalanceContext, LoadBalancer};
#[cfg(any(test, feature = "test-util"))]
pub use clock::ManualClock;
pub use clock::{Clock, SystemClock};
pub use dispatch::{
    DispatchOutcome, DispatchRequest, Dispatcher, ExecutionReport, PreparedDispatch, ReportSink, Reporter,
};
pub use health::{AlwaysHealthy, HealthProbe, ProbeResult};
pub use inprocess::{Handler, InProcessDispatcher, JobContext};
pub use leader::{AlwaysLeader, Leadership, LocalLeadership, LocalLock};
pub use memory::MemoryStore;
pub use mode::{ExecutionMode, FireDecision, ModeContext};
pub use schedule::Schedule;

// ---- the domain -----------------------------------------------------------

pub use domain::logs;
pub use domain::{
    DEFAULT_MAX_RETRY, DEFAULT_TIMEOUT_SECONDS, Execution, ExecutionChange, ExecutionGuard, ExecutionId,
    ExecutionStatus, Executor, ExecutorId, ExecutorPatch, ExecutorRegistration, ExecutorStatus, HealthThresholds,
    JsonObject, MAX_ID_LEN, MAX_JSON_DEPTH, MAX_PARAMETERS_BYTES, MAX_TASK_EXECUTORS, MisfirePolicy, ModeName, NewTask,
    SchedulerInstance, StatusSet, StrategyName, Task, TaskExecutor, TaskExecutorInput, TaskId, TaskPatch, TaskStatus,
    TriggerType, ValidationError,
};

// ---- the store boundary ---------------------------------------------------

pub use store::{
    Alert, AlertAttempt, AlertEnqueued, Candidate, ClaimOutcome, ExecutionCap, ExecutionCursor, ExecutionFilter,
    ExecutionPage, ExecutionUpdate, ExecutorFilter, HourlyCounts, LbState, ListFrom, MAX_ALERT_KEY_LEN, NewAlert, Page,
    Paged, Registered, StatusCounts, Store, StoreError, StoreResult, SystemCounts, TOTAL_CAP, TaskActivity, TaskFilter,
    UpdateOutcome,
};

/// Machinery the other crates of this workspace share with the engine (the
/// server's checks of JSON it does not store as a task and of callback
/// tokens, the named execution transitions, the host name written into
/// instance rows). Not part of the API: it changes without notice.
#[doc(hidden)]
pub mod internal {
    pub use crate::dispatch::is_callback_token;
    pub use crate::domain::transition;
    pub use crate::domain::{json_depth, validate_json_depth, validate_parameters};
    pub use crate::engine::hostname;
}
