//! The domain model: stored types, input types and their validation.

mod execution;
mod executor;
mod ids;
pub mod logs;
mod names;
mod task;
pub mod transition;
mod validation;

pub use execution::{
    Execution, ExecutionChange, ExecutionGuard, ExecutionStatus, SchedulerInstance, StatusSet, TriggerType,
};
pub use executor::{Executor, ExecutorPatch, ExecutorRegistration, ExecutorStatus, HealthThresholds};
pub use ids::{ExecutionId, ExecutorId, MAX_ID_LEN, TaskId};
pub use names::{ModeName, StrategyName};
pub use task::{
    DEFAULT_MAX_RETRY, DEFAULT_TIMEOUT_SECONDS, JsonObject, MAX_JSON_DEPTH, MAX_PARAMETERS_BYTES, MAX_TASK_EXECUTORS,
    MisfirePolicy, NewTask, Task, TaskExecutor, TaskExecutorInput, TaskPatch, TaskStatus, json_depth,
    validate_json_depth, validate_parameters,
};
pub use validation::ValidationError;
