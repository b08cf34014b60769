//! Alerts: scheduler events delivered to webhooks, durably.
//!
//! ```text
//! engine event ──(subscription)──▶ record: one alert per webhook that wants it,
//!   (any instance)                  written to the store's outbox (or held back
//!                                   by min_interval and counted)
//!                                          │
//!                  leader only, every second or at once when woken
//!                                          ▼
//!                                  deliver: POST, signed; 2xx → delivered;
//!                                  else retried 2 s, 4 s, … 60 s, for an hour
//! ```
//!
//! Nothing here runs on the path of a fire or a request: recording and
//! delivery are background tasks fed by the engine's event subscription. The
//! outbox is in the store, so a leader that crashes before delivering leaves
//! the alert for the next leader (on MySQL; the memory store dies with the
//! process). Delivered or not, alerts are kept 7 days for `GET /api/v1/alerts`.

mod config;
mod deliver;
mod record;

pub use config::{AlertsConfig, WebhookConfig};

use scheduler_core::{EventKind, Scheduler};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Alerts written to the outbox (label `event`).
pub const ALERTS_QUEUED_TOTAL: &str = "chronoflow_alerts_queued_total";
/// Alerts delivered (label `event`).
pub const ALERTS_SENT: &str = "chronoflow_alerts_sent_total";
/// Delivery attempts that failed (label `event`).
pub const ALERTS_FAILED: &str = "chronoflow_alerts_failed_total";
/// Alerts given up after retrying for [`Tuning::retry_for`] (label `event`).
pub const ALERTS_GIVEN_UP: &str = "chronoflow_alerts_given_up_total";
/// Alerts held back by `min_interval` (label `event`).
pub const ALERTS_SUPPRESSED: &str = "chronoflow_alerts_suppressed_total";
/// Events this instance could not record (its store was down too long, or
/// the subscription fell behind).
pub const ALERTS_LOST: &str = "chronoflow_alerts_lost_total";
/// Alerts in the outbox neither delivered nor given up (set by the leader).
///
/// Not `chronoflow_alerts_queued`: OpenMetrics reads that as the family of
/// the counter [`ALERTS_QUEUED_TOTAL`], and one family cannot be both.
pub const ALERTS_PENDING: &str = "chronoflow_alerts_pending";

/// How long alerts are kept, delivered or not.
pub const KEEP_FOR: Duration = Duration::from_secs(7 * 24 * 3600);

/// Delivery timings; [`Tuning::default`] is what the server uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuning {
    /// How often the leader looks for due alerts (1 s; a new alert wakes it at once).
    pub poll: Duration,
    /// The first retry delay, doubling per attempt (2 s).
    pub retry_first: Duration,
    /// The longest retry delay (60 s).
    pub retry_max: Duration,
    /// How long after its event an alert is still retried (1 h).
    pub retry_for: Duration,
    /// How long one POST may take (10 s).
    pub request_timeout: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(1),
            retry_first: Duration::from_secs(2),
            retry_max: Duration::from_secs(60),
            retry_for: Duration::from_secs(3600),
            request_timeout: Duration::from_secs(10),
        }
    }
}

impl Tuning {
    /// The delay before the next attempt after `attempts` failed ones:
    /// `retry_first × 2^(attempts−1)`, at most `retry_max`.
    ///
    /// ```text
    /// failed attempts: 1    2    3    4     5     6     7 …
    /// next attempt in: 2 s  4 s  8 s  16 s  32 s  60 s  60 s …
    /// ```
    pub fn backoff(&self, attempts: u32) -> Duration {
        let n = attempts.saturating_sub(1).min(31);
        self.retry_first
            .checked_mul(1u32 << n)
            .unwrap_or(self.retry_max)
            .min(self.retry_max)
    }
}

/// One configured webhook, ready to use.
#[derive(Clone, Debug)]
pub(crate) struct Webhook {
    pub(crate) url: String,
    pub(crate) kinds: Vec<EventKind>,
    pub(crate) secret: Option<String>,
    pub(crate) min_interval: Duration,
}

pub(crate) struct Shared {
    pub(crate) scheduler: Scheduler,
    pub(crate) webhooks: Vec<Webhook>,
    pub(crate) tuning: Tuning,
    pub(crate) client: reqwest::Client,
    /// Wakes the deliverer when an alert was queued.
    pub(crate) queued: Notify,
}

/// The running alert tasks of one instance; [`Alerts::stop`] ends them.
#[derive(Debug)]
pub struct Alerts {
    tasks: Vec<JoinHandle<()>>,
}

impl Alerts {
    /// Subscribes to `scheduler`'s events and starts recording them (every
    /// instance) and delivering them (while this instance leads). Call it
    /// before [`Scheduler::start`] so the first `leader_changed` is seen.
    /// With no webhook configured, nothing is started.
    pub fn start(scheduler: &Scheduler, config: &AlertsConfig) -> Result<Self, String> {
        Self::start_with(scheduler, config, Tuning::default())
    }

    /// [`start`](Self::start) with other timings (tests).
    pub fn start_with(scheduler: &Scheduler, config: &AlertsConfig, tuning: Tuning) -> Result<Self, String> {
        config.validate()?;
        if config.webhooks.is_empty() {
            return Ok(Self { tasks: Vec::new() });
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(tuning.request_timeout)
            .user_agent(concat!("chronoflow-scheduler/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client for alerts: {e}"))?;
        let webhooks = config
            .webhooks
            .iter()
            .map(|w| Webhook {
                url: w.url.clone(),
                kinds: w.kinds(),
                secret: w.secret.clone(),
                min_interval: w.min_interval.0,
            })
            .collect();
        let shared = Arc::new(Shared {
            scheduler: scheduler.clone(),
            webhooks,
            tuning,
            client,
            queued: Notify::new(),
        });
        let events = scheduler.subscribe();
        let tasks = vec![
            tokio::spawn(record::run(shared.clone(), events)),
            tokio::spawn(deliver::run(shared)),
        ];
        Ok(Self { tasks })
    }

    /// Stops recording and delivering (what is in the outbox stays there).
    pub fn stop(&self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Drop for Alerts {
    fn drop(&mut self) {
        self.stop();
    }
}
