//! # scheduler-core
//!
//! The embeddable heart of the scheduler: the domain model, cron schedules in
//! IANA time zones, the [`Store`] persistence boundary with an in-memory
//! implementation, and the scheduling engine.

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
