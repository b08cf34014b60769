//! Recording: each event, for each webhook that takes it, becomes an alert
//! in the store's outbox (or is held back by `min_interval` and counted).

use super::*;
use scheduler_core::{AlertEnqueued, NewAlert, SchedulerEvent, StoreError};
use tokio::sync::broadcast::{Receiver, error::RecvError};

/// How long a store outage is waited out before an event is given up.
const STORE_RETRY_FOR: Duration = Duration::from_secs(600);

pub(super) async fn run(shared: Arc<Shared>, mut events: Receiver<SchedulerEvent>) {
    loop {
        match events.recv().await {
            Ok(event) => record(&shared, &event).await,
            Err(RecvError::Lagged(n)) => {
                metrics::counter!(ALERTS_LOST).increment(n);
                tracing::error!(
                    lost = n,
                    "alerts: events arrived faster than the store took them; some were lost"
                );
            }
            Err(RecvError::Closed) => return,
        }
    }
}

async fn record(shared: &Shared, event: &SchedulerEvent) {
    for w in shared.webhooks.iter().filter(|w| w.kinds.contains(&event.kind)) {
        let alert = NewAlert {
            id: uuid::Uuid::now_v7().to_string(),
            target: w.url.clone(),
            key: event.key(),
            event: event.kind,
            at: event.at,
            subject: event.subject.clone(),
            message: event.message.clone(),
            next_attempt_at: event.at,
        };
        let min = (!w.min_interval.is_zero())
            .then(|| chrono::Duration::from_std(w.min_interval).ok())
            .flatten();
        let started = tokio::time::Instant::now();
        let mut delay = Duration::from_millis(200);
        let kind = event.kind.as_str();
        loop {
            match shared.scheduler.store().enqueue_alert(&alert, min).await {
                Ok(AlertEnqueued::Queued(a)) => {
                    metrics::counter!(ALERTS_QUEUED_TOTAL, "event" => kind).increment(1);
                    tracing::info!(alert_id = %a.id, event = kind, webhook = %w.url, suppressed = a.suppressed, "alert queued");
                    shared.queued.notify_one();
                }
                Ok(AlertEnqueued::Suppressed { count }) => {
                    metrics::counter!(ALERTS_SUPPRESSED, "event" => kind).increment(1);
                    tracing::debug!(event = kind, webhook = %w.url, held_back = count, "alert held back by min_interval");
                }
                Err(StoreError::Unavailable(e)) if started.elapsed() < STORE_RETRY_FOR => {
                    tracing::warn!(event = kind, error = %e, ?delay, "alert not recorded yet; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                    continue;
                }
                Err(e) => {
                    metrics::counter!(ALERTS_LOST).increment(1);
                    tracing::error!(event = kind, error = %e, message = %event.message, "alert lost: cannot record it");
                }
            }
            break;
        }
    }
}
