//! The JSON shapes of the API: the request bodies the core has no type for
//! (strict: unknown fields are rejected) and responses (only the fields
//! docs/reference/api.md lists; the engine's bookkeeping never leaves the
//! server). Task and executor inputs are the core's own types (`NewTask`,
//! `TaskPatch`, `ExecutorRegistration`, `ExecutorPatch`,
//! `TaskExecutorInput`), documented through its `openapi` feature.

mod common;
mod executions;
mod executors;
mod system;
mod tasks;

pub use common::*;
pub use executions::*;
pub use executors::*;
pub use system::*;
pub use tasks::*;
