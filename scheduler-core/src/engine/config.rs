//! [`SchedulerConfig`]: the engine's tunables.

use crate::domain::HealthThresholds;
use crate::store::ExecutionCap;
use std::time::Duration;

/// How much history the leader keeps (docs/history.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryConfig {
    /// Final executions scheduled longer ago than this are deleted (30 days);
    /// `None` keeps them all.
    pub retention: Option<Duration>,
    /// How often the leader purges (1 minute).
    pub purge_interval: Duration,
    /// The most final executions kept in all (the store's default: 1 000 000
    /// on the memory store, no cap on MySQL).
    pub max_executions: ExecutionCap,
    /// Rows deleted per store call (200): each call is short, and the purge
    /// pauses between calls so fires and requests go first.
    pub purge_batch: u32,
}

/// How long the hourly counters behind the statistics are kept.
pub const ROLLUP_RETENTION: Duration = Duration::from_secs(400 * 24 * 3600);

impl Default for HistoryConfig {
    fn default() -> Self {
        Self {
            retention: Some(Duration::from_secs(30 * 24 * 3600)),
            purge_interval: Duration::from_secs(60),
            max_executions: ExecutionCap::StoreDefault,
            purge_batch: 200,
        }
    }
}

/// Tunables, with the defaults of the server's `scheduler` and `health_check` configuration
/// (docs/reference/configuration.md).
#[derive(Clone, Debug)]
pub struct SchedulerConfig {
    /// How often this instance writes its heartbeat (30 s).
    pub heartbeat_interval: Duration,
    /// Dispatches in flight at once (10).
    pub max_workers: usize,
    /// A fire later than this is a misfire (5 s).
    pub misfire_threshold: Duration,
    /// How long an executor has to accept a dispatch (10 s).
    pub dispatch_timeout: Duration,
    /// First retry delay; doubles per attempt (1 s).
    pub retry_backoff: Duration,
    /// Longest retry delay (60 s).
    pub retry_backoff_max: Duration,
    /// Health probe period (30 s).
    pub health_check_interval: Duration,
    /// Health probe timeout (10 s).
    pub health_check_timeout: Duration,
    /// Failure and recovery thresholds (3 and 2).
    pub health_thresholds: HealthThresholds,
    /// How often changes written by other instances are polled (1 s).
    pub change_poll_interval: Duration,
    /// How often overdue and due executions are swept (1 s).
    pub sweep_interval: Duration,
    /// How far ahead of its instant a `parallel` fire is claimed and its
    /// attempt recorded, so the instant itself only costs the dispatch (500 ms).
    pub fire_ahead: Duration,
    /// How long shutdown waits for in-process work before cancelling it (10 s).
    pub shutdown_grace: Duration,
    /// Fires taken from the timer but not yet started, at most (50 000).
    /// When the store cannot keep up, the timer stops taking fires at this
    /// bound: the due fires stay in the timer, late, and once later than
    /// `misfire_threshold` their task's misfire policy decides. Bounds the
    /// memory of an overloaded engine.
    pub max_pending_fires: usize,
    /// Retention of final executions.
    pub history: HistoryConfig,
    /// Events kept for subscribers that have not read them yet (1 024); a
    /// subscriber further behind loses the oldest (see `Scheduler::subscribe`).
    pub event_capacity: usize,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            heartbeat_interval: Duration::from_secs(30),
            max_workers: 10,
            misfire_threshold: Duration::from_secs(5),
            dispatch_timeout: Duration::from_secs(10),
            retry_backoff: Duration::from_secs(1),
            retry_backoff_max: Duration::from_secs(60),
            health_check_interval: Duration::from_secs(30),
            health_check_timeout: Duration::from_secs(10),
            health_thresholds: HealthThresholds::default(),
            change_poll_interval: Duration::from_secs(1),
            sweep_interval: Duration::from_secs(1),
            fire_ahead: Duration::from_millis(500),
            shutdown_grace: Duration::from_secs(10),
            max_pending_fires: 50_000,
            history: HistoryConfig::default(),
            event_capacity: 1024,
        }
    }
}

impl SchedulerConfig {
    /// The delay before retry number `n + 1` after attempt `n` failed:
    /// `retry_backoff × 2ⁿ`, at most `retry_backoff_max`.
    ///
    /// ```text
    /// attempt:   0 fails   1 fails   2 fails   3 fails ... 6 fails   7 fails
    /// delay:     1 s       2 s       4 s       8 s         60 s      60 s
    /// ```
    pub fn backoff(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.min(31));
        self.retry_backoff
            .checked_mul(factor)
            .unwrap_or(self.retry_backoff_max)
            .min(self.retry_backoff_max)
    }
}
