//! The JSON shapes of the API: request bodies (strict: unknown fields are
//! rejected) and responses (only the fields docs/reference/api.md lists; the engine's
//! bookkeeping never leaves the server).

mod common;
mod executions;
mod executors;
mod stats;
mod system;
mod tasks;

pub use common::*;
pub use executions::*;
pub use executors::*;
pub use stats::*;
pub use system::*;
pub use tasks::*;
