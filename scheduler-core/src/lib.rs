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
//!
//! The operator and embedder guides are in the repository's `docs/`
//! (`docs/embedding.md`).

#![cfg_attr(docsrs, feature(doc_cfg))]

/// This crate's `README.md`: its examples are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub mod clock;
mod domain;
pub mod events;
mod memory;
pub mod schedule;
mod store;
#[cfg(feature = "test-util")]
pub mod testing;

#[cfg(any(test, feature = "test-util"))]
pub use clock::ManualClock;
pub use clock::{Clock, SystemClock};
pub use domain::*;
pub use events::{EventKind, EventSubject, SchedulerEvent};
pub use memory::MemoryStore;
pub use schedule::Schedule;
pub use store::*;
pub mod dispatch;
pub mod health;
pub mod leader;
pub use dispatch::{
    DispatchOutcome, DispatchRequest, Dispatcher, ExecutionReport, PreparedDispatch, ReportSink, Reporter,
};
pub use health::{AlwaysHealthy, HealthProbe, ProbeResult};
pub use leader::{AlwaysLeader, Leadership, LocalLeadership, LocalLock};
pub mod balance;
mod engine;
mod inprocess;
pub mod mode;
pub use balance::{BalanceContext, LoadBalancer};
pub use engine::{
    DailyStats, HistoryConfig, InstanceInfo, PurgeReport, ROLLUP_RETENTION, Scheduler, SchedulerBuilder,
    SchedulerConfig, SchedulerError, SchedulerResult, SystemStatus, TaskStats, WindowStats, hostname, metrics,
};
pub use inprocess::{Handler, InProcessDispatcher, JobContext};
pub use mode::{ExecutionMode, FireDecision, ModeContext};
