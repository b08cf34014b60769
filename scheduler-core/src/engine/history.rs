//! History retention: the leader deletes old final executions in small
//! batches and the hourly counters past their 400 days (docs/history.md).
//!
//! A pass deletes `purge_batch` rows per store call and, between calls,
//! waits four times as long as the call took: the purge takes at most about
//! a fifth of the store's time, whatever the backlog, so fires and requests
//! keep their latency while a large backlog drains over minutes (about
//! 2 000 rows/s on MariaDB on the benchmark machine, docs/benchmarks.md).

use super::{Inner, metrics};
use crate::store::{ExecutionCap, StoreResult};
use chrono::Duration;
use std::sync::Arc;
use std::time::Instant;

/// Time the purge waits after a store call, per unit of time the call took.
const PAUSE_PER_BUSY: u32 = 4;

/// What one purge pass deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PurgeReport {
    /// Final executions older than the retention.
    pub expired: u64,
    /// Final executions beyond `max_executions`.
    pub excess: u64,
    /// Hourly counters older than 400 days.
    pub rollups: u64,
}

impl Inner {
    pub(super) async fn purger(self: Arc<Self>) {
        while self.tick(self.config.history.purge_interval).await {
            if self.is_leader()
                && let Err(e) = self.purge_history().await
            {
                tracing::warn!(error = %e, "history purge stopped early; the next pass goes on");
            }
        }
    }

    /// One pass: expired executions, then the excess over the cap, then old
    /// counters. Stops early (with what it did) on shutdown or when this
    /// instance stops leading.
    pub(crate) async fn purge_history(&self) -> StoreResult<PurgeReport> {
        let h = &self.config.history;
        let mut report = PurgeReport::default();
        if let Some(keep) = h.retention {
            let before = self.now() - Duration::from_std(keep).unwrap_or(Duration::MAX);
            report.expired = self
                .purge_in_batches("retention", |limit| self.store.purge_executions(before, limit))
                .await?;
        }
        let cap = match h.max_executions {
            ExecutionCap::StoreDefault => self.store.default_max_executions(),
            ExecutionCap::Unlimited => None,
            ExecutionCap::AtMost(n) => Some(n),
        };
        if let Some(keep) = cap {
            report.excess = self
                .purge_in_batches("max_executions", |limit| {
                    self.store.purge_excess_executions(keep, limit)
                })
                .await?;
        }
        let rollup_keep = Duration::from_std(super::ROLLUP_RETENTION).unwrap_or(Duration::MAX);
        report.rollups = self.store.purge_hourly_counts(self.now() - rollup_keep).await?;
        Ok(report)
    }

    async fn purge_in_batches<F, Fut>(&self, reason: &'static str, mut call: F) -> StoreResult<u64>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = StoreResult<u64>>,
    {
        let limit = self.config.history.purge_batch.max(1);
        let mut total = 0;
        loop {
            if self.shutdown.is_cancelled() || !self.purging_allowed() {
                return Ok(total);
            }
            let started = Instant::now();
            let n = call(limit).await?;
            total += n;
            metrics::purged(reason, n);
            if n < u64::from(limit) {
                return Ok(total);
            }
            tokio::time::sleep(started.elapsed() * PAUSE_PER_BUSY).await;
        }
    }

    /// The leader purges; a scheduler that was never started (a program
    /// calling [`Scheduler::purge_history`](super::Scheduler::purge_history)
    /// directly) may too.
    fn purging_allowed(&self) -> bool {
        self.is_leader() || !self.started.load(std::sync::atomic::Ordering::Relaxed)
    }
}
