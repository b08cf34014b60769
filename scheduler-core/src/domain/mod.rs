//! The domain model of CONTRACT §1: stored types, input types and their validation.

mod execution;
mod executor;
mod ids;
mod names;
mod task;
pub mod transition;
mod validation;

pub use execution::{Execution, ExecutionChange, ExecutionGuard, ExecutionStatus, SchedulerInstance, TriggerType};
pub use executor::{Executor, ExecutorPatch, ExecutorRegistration, ExecutorStatus, HealthThresholds};
pub use ids::{ExecutionId, ExecutorId, MAX_ID_LEN, TaskId};
pub use names::{ModeName, StrategyName};
pub use task::{
    DEFAULT_MAX_RETRY, DEFAULT_TIMEOUT_SECONDS, JsonObject, MAX_PARAMETERS_BYTES, MisfirePolicy, NewTask, Task,
    TaskExecutor, TaskExecutorInput, TaskPatch, TaskStatus, validate_parameters,
};
pub use validation::ValidationError;
