//! Delivery, by the leader: due alerts POSTed to their webhook, signed, and
//! the outcome of each attempt written back to the outbox.

use super::*;
use futures::StreamExt;
use hmac::{Hmac, KeyInit, Mac};
use scheduler_core::{Alert, AlertAttempt, StoreError};
use sha2::Sha256;

/// The header that carries `sha256=<hex HMAC-SHA256(secret, body)>`.
pub const SIGNATURE_HEADER: &str = "X-Scheduler-Signature";

/// Alerts read per round; rounds repeat while this many were due.
const ROUND: u32 = 100;
/// POSTs in flight at once.
const PARALLEL: usize = 8;
/// How often the leader purges alerts older than [`KEEP_FOR`].
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// The JSON body sent for `alert`.
pub fn payload(alert: &Alert) -> serde_json::Value {
    serde_json::json!({
        "id": alert.id,
        "event": alert.event,
        "at": alert.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "subject": alert.subject,
        "message": alert.message,
        "suppressed": alert.suppressed,
    })
}

/// `sha256=<hex>` of HMAC-SHA256 over `body` with `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub(super) async fn run(shared: Arc<Shared>) {
    let mut next_purge = tokio::time::Instant::now();
    loop {
        if shared.scheduler.is_leader() {
            if tokio::time::Instant::now() >= next_purge {
                purge(&shared).await;
                next_purge = tokio::time::Instant::now() + PURGE_EVERY;
            }
            while deliver_round(&shared).await == ROUND as usize {}
            if let Ok(n) = shared.scheduler.store().alert_backlog().await {
                metrics::gauge!(ALERTS_PENDING).set(n as f64);
            }
        }
        tokio::select! {
            _ = shared.queued.notified() => {}
            _ = tokio::time::sleep(shared.tuning.poll) => {}
        }
    }
}

async fn purge(shared: &Shared) {
    let now = shared.scheduler.clock().now();
    let before = now - chrono::Duration::from_std(KEEP_FOR).unwrap_or(chrono::Duration::days(7));
    match shared.scheduler.store().purge_alerts(before).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(purged = n, "alerts older than 7 days deleted"),
        Err(e) => tracing::warn!(error = %e, "cannot purge old alerts"),
    }
}

/// Attempts every due alert once; returns how many were due.
async fn deliver_round(shared: &Shared) -> usize {
    let now = shared.scheduler.clock().now();
    let due = match shared.scheduler.store().due_alerts(now, ROUND).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "alerts: cannot read the outbox");
            return 0;
        }
    };
    let n = due.len();
    futures::stream::iter(due)
        .for_each_concurrent(PARALLEL, |a| async move {
            // Leadership may have moved during the round: the next leader sends it.
            if shared.scheduler.is_leader() {
                attempt(shared, a).await;
            }
        })
        .await;
    n
}

async fn attempt(shared: &Shared, alert: Alert) {
    let kind = alert.event.as_str();
    let Some(webhook) = shared.webhooks.iter().find(|w| w.url == alert.target) else {
        let outcome = AlertAttempt::Failed {
            retry_at: None,
            error: "its webhook is no longer configured".to_owned(),
        };
        write(shared, &alert, &outcome).await;
        return;
    };
    let body = payload(&alert).to_string();
    let mut req = shared
        .client
        .post(&webhook.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Scheduler-Event", kind)
        .header("X-Scheduler-Alert-Id", alert.id.as_str());
    if let Some(secret) = &webhook.secret {
        req = req.header(SIGNATURE_HEADER, sign(secret, body.as_bytes()));
    }
    let error = match req.body(body).send().await {
        Ok(r) if r.status().is_success() => None,
        Ok(r) => Some(format!("HTTP {}", r.status().as_u16())),
        Err(e) => Some(format!("no answer: {e}")),
    };
    let outcome = match error {
        None => {
            metrics::counter!(ALERTS_SENT, "event" => kind).increment(1);
            tracing::info!(alert_id = %alert.id, event = kind, webhook = %webhook.url, "alert delivered");
            AlertAttempt::Delivered
        }
        Some(error) => {
            metrics::counter!(ALERTS_FAILED, "event" => kind).increment(1);
            let now = shared.scheduler.clock().now();
            let delay = shared.tuning.backoff(alert.attempts + 1);
            let next = now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::seconds(60));
            let deadline =
                alert.at + chrono::Duration::from_std(shared.tuning.retry_for).unwrap_or(chrono::Duration::hours(1));
            let retry_at = (next <= deadline).then_some(next);
            if retry_at.is_none() {
                metrics::counter!(ALERTS_GIVEN_UP, "event" => kind).increment(1);
                tracing::error!(alert_id = %alert.id, event = kind, webhook = %webhook.url, %error, "alert given up");
            } else {
                tracing::warn!(alert_id = %alert.id, event = kind, webhook = %webhook.url, %error, ?delay, "alert not delivered; retrying");
            }
            AlertAttempt::Failed { retry_at, error }
        }
    };
    write(shared, &alert, &outcome).await;
}

async fn write(shared: &Shared, alert: &Alert, outcome: &AlertAttempt) {
    match shared.scheduler.store().record_alert_attempt(&alert.id, outcome).await {
        Ok(_) | Err(StoreError::Conflict(_)) | Err(StoreError::NotFound { .. }) => {}
        // Not written: the alert is still due and is tried again (a
        // delivered one possibly twice; the payload's id lets the receiver
        // drop the duplicate).
        Err(e) => tracing::warn!(alert_id = %alert.id, error = %e, "alert attempt not recorded"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_two_seconds_up_to_a_minute() {
        let t = Tuning::default();
        let secs: Vec<u64> = (1..=8).map(|n| t.backoff(n).as_secs()).collect();
        assert_eq!(secs, vec![2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(t.backoff(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
