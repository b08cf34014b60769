//! The loops besides the timer: the sweeper (timeouts, due executions), the
//! health prober, the instance heartbeat and the history purger (its work is
//! in `history.rs`).

use super::{Inner, metrics};
use crate::domain::{ExecutionStatus, Executor, SchedulerInstance};
use chrono::Duration;
use std::sync::Arc;

const SWEEP_BATCH: u32 = 1_000;

pub(crate) fn start(inner: &Arc<Inner>) {
    let me = inner.clone();
    inner.spawn(async move { me.sweeper().await });
    let me = inner.clone();
    inner.spawn(async move { me.prober().await });
    let me = inner.clone();
    inner.spawn(async move { me.heartbeat().await });
    let me = inner.clone();
    inner.spawn(async move { me.purger().await });
}

impl Inner {
    /// Sleeps `every` on the engine clock; false when shutting down.
    pub(super) async fn tick(&self, every: std::time::Duration) -> bool {
        let at = self.now() + Duration::from_std(every).unwrap_or(Duration::seconds(1));
        tokio::select! {
            _ = self.shutdown.cancelled() => false,
            _ = self.clock.sleep_until(at) => true,
        }
    }

    async fn sweeper(self: Arc<Self>) {
        while self.tick(self.config.sweep_interval).await {
            if self.is_leader() {
                self.sweep().await;
            }
        }
    }

    /// Times out overdue attempts and dispatches due pending executions.
    ///
    /// Executions this instance is about to dispatch itself (a retry whose
    /// timer is running, a manual trigger just made) are given a second's
    /// grace, so the sweep does not race their own dispatch (the race would
    /// be harmless for the execution, which only one dispatcher can claim,
    /// but would move the load balancer's state twice).
    pub(crate) async fn sweep(&self) {
        let Some(me) = self.arc() else { return };
        self.hand_back_unsent().await;
        let now = self.now();
        match self.store.overdue_executions(now, SWEEP_BATCH).await {
            Ok(list) => {
                for e in list {
                    let me = me.clone();
                    self.spawn(async move { me.time_out(e).await });
                }
            }
            Err(e) => tracing::warn!(error = %e, "sweep: cannot list overdue executions"),
        }
        let grace = Duration::seconds(1);
        match self.store.due_executions(now - grace, SWEEP_BATCH).await {
            Ok(list) => {
                for e in list {
                    debug_assert_eq!(e.status, ExecutionStatus::Pending);
                    let me = me.clone();
                    self.spawn(async move { me.dispatch_pending(e, None).await });
                }
            }
            Err(e) => tracing::warn!(error = %e, "sweep: cannot list due executions"),
        }
    }

    async fn prober(self: Arc<Self>) {
        loop {
            if self.is_leader() {
                self.probe_all().await;
            }
            if !self.tick(self.config.health_check_interval).await {
                return;
            }
        }
    }

    async fn probe_all(self: &Arc<Self>) {
        let executors = match self.store.all_executors().await {
            Ok(list) => list,
            Err(e) => {
                tracing::warn!(error = %e, "health: cannot list executors");
                return;
            }
        };
        let probes = executors.into_iter().map(|e| {
            let me = self.clone();
            async move { me.probe_one(&e).await }
        });
        let results = futures::future::join_all(probes).await;
        metrics::executors_healthy(results.into_iter().flatten().filter(|e| e.is_available()).count());
    }

    /// Probes one executor and records the result with the thresholds.
    pub(crate) async fn probe_one(&self, e: &Executor) -> Option<Executor> {
        let result = tokio::time::timeout(self.config.health_check_timeout, self.probe.probe(e)).await;
        let (ok, why) = match result {
            Ok(r) => {
                let ok = r.is_healthy();
                (
                    ok,
                    if let crate::ProbeResult::Unhealthy(w) = r {
                        w
                    } else {
                        String::new()
                    },
                )
            }
            Err(_) => (false, "health check timed out".to_owned()),
        };
        match self
            .store
            .record_health(&e.id, ok, self.now(), self.config.health_thresholds)
            .await
        {
            Ok(updated) => {
                if updated.is_healthy != e.is_healthy {
                    tracing::info!(executor_id = %e.id, healthy = updated.is_healthy, reason = %why, "executor health changed");
                    self.emit_health(e.is_healthy, &updated, &why);
                }
                Some(updated)
            }
            Err(err) => {
                tracing::debug!(executor_id = %e.id, error = %err, "cannot record health");
                None
            }
        }
    }

    /// Probes a newly registered executor at once (leader only).
    pub(crate) fn probe_soon(&self, e: Executor) {
        if !self.is_leader() {
            return;
        }
        if let Some(me) = self.arc() {
            self.spawn(async move {
                me.probe_one(&e).await;
            });
        }
    }

    async fn heartbeat(self: Arc<Self>) {
        let mut leader_rx = self.leadership.subscribe();
        loop {
            // Read the flag through the receiver, so a change while the row is
            // being written wakes the next write instead of being missed.
            let leading = *leader_rx.borrow_and_update() && !self.shutdown.is_cancelled();
            let row = SchedulerInstance {
                instance_id: self.instance_id.clone(),
                hostname: self.hostname.clone(),
                is_leader: leading,
                started_at: self.started_at,
                last_heartbeat: self.now(),
            };
            if let Err(e) = self.store.upsert_instance(&row).await {
                tracing::warn!(error = %e, "heartbeat not written");
            }
            let at = self.now() + Duration::from_std(self.config.heartbeat_interval).unwrap_or(Duration::seconds(30));
            // Write at once when leadership changes, so /system/status is current.
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = leader_rx.changed() => {}
                _ = self.clock.sleep_until(at) => {}
            }
        }
    }
}
