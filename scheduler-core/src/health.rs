//! Executor health: the [`HealthProbe`] trait.
//!
//! The engine's leader probes every executor every `health_check.interval`
//! (and at once when one registers) and records each result through
//! [`Store::record_health`](crate::Store::record_health), which applies the
//! failure and recovery thresholds:
//!
//! ```text
//! probe:      ok  x   x   x   ok  ok      (failure_threshold 3, recovery_threshold 2)
//! failures:   0   1   2   3   0   0
//! is_healthy: T   T   T   F   F   T
//! ```

use crate::domain::Executor;
use async_trait::async_trait;

/// The result of probing one executor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeResult {
    /// It answered as healthy.
    Healthy,
    /// It did not, and why.
    Unhealthy(String),
}

impl ProbeResult {
    /// Whether the probe succeeded.
    pub fn is_healthy(&self) -> bool {
        matches!(self, Self::Healthy)
    }
}

/// Probes one executor.
#[async_trait]
pub trait HealthProbe: Send + Sync + 'static {
    /// Probes `executor`. The engine bounds the call with `health_check.timeout`
    /// and counts a timeout as unhealthy.
    async fn probe(&self, executor: &Executor) -> ProbeResult;
}

/// A probe that always answers healthy (in-process executors live as long as
/// the engine does).
#[derive(Clone, Copy, Debug, Default)]
pub struct AlwaysHealthy;

#[async_trait]
impl HealthProbe for AlwaysHealthy {
    async fn probe(&self, _executor: &Executor) -> ProbeResult {
        ProbeResult::Healthy
    }
}
