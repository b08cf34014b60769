//! # scheduler-core
//!
//! The embeddable heart of the scheduler: the domain model, cron schedules in
//! IANA time zones, the [`Store`] persistence boundary with an in-memory
//! implementation, and the scheduling engine.
//!
//! What a program embedding the scheduler uses is re-exported here: the
//! [`Scheduler`] and its [`SchedulerBuilder`], the traits it is built from
//! ([`Store`], [`Dispatcher`], [`HealthProbe`], [`Leadership`],
//! [`LoadBalancer`], [`ExecutionMode`], [`Clock`]), the domain types and the
//! errors. A new store backend also needs the store's answer and query types,
//! re-exported here too, and the conformance suite in `testing` (feature
//! `test-util`).

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
    SchedulerInstance, StrategyName, Task, TaskExecutor, TaskExecutorInput, TaskId, TaskPatch, TaskStatus, TriggerType,
    ValidationError,
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
