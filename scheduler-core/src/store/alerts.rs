//! The types of the alert outbox: alerts written through the [`Store`]
//! (see its "alert outbox" methods) before anyone tries to deliver them, so
//! that a crash of the instance that delivers loses none.
//!
//! An alert is one event for one destination (`target`, e.g. a webhook
//! URL). Suppression is per `(target, key)`: while the last alert queued
//! under that key is younger than the caller's `min_interval`, further
//! events only count up; the next alert queued under that key carries the
//! count in `suppressed`.
//!
//! ```text
//! min_interval 1 m, one key:
//! 10:00:00 event → queued (suppressed 0)
//! 10:00:20 event → held back (count 1)
//! 10:00:40 event → held back (count 2)
//! 10:01:05 event → queued (suppressed 2)
//! ```
//!
//! [`Store`]: crate::Store

use crate::events::{EventKind, EventSubject};
use chrono::{DateTime, Utc};

/// The longest suppression key a store must keep.
pub const MAX_ALERT_KEY_LEN: usize = 255;

/// An alert to queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAlert {
    /// Its id (the caller's; a UUID v7 keeps them in time order).
    pub id: String,
    /// Where it goes (a webhook URL), as the deliverer recognises it.
    pub target: String,
    /// The suppression key, unique per target (at most [`MAX_ALERT_KEY_LEN`]).
    pub key: String,
    /// The event.
    pub event: EventKind,
    /// When the event happened.
    pub at: DateTime<Utc>,
    /// What it is about.
    pub subject: EventSubject,
    /// One line for a human.
    pub message: String,
    /// When its first delivery attempt is due.
    pub next_attempt_at: DateTime<Utc>,
}

/// An alert in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// Its id; also sent in the payload, so a receiver can drop a duplicate.
    pub id: String,
    /// Where it goes.
    pub target: String,
    /// The event.
    pub event: EventKind,
    /// When the event happened.
    pub at: DateTime<Utc>,
    /// What it is about.
    pub subject: EventSubject,
    /// One line for a human.
    pub message: String,
    /// Alerts of the same key held back by `min_interval` since the previous
    /// one queued.
    pub suppressed: u64,
    /// Whether a delivery succeeded.
    pub delivered: bool,
    /// Delivery attempts made.
    pub attempts: u32,
    /// When the next attempt is due; `None` once delivered or given up.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
}

/// The answer of [`Store::enqueue_alert`](crate::Store::enqueue_alert).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlertEnqueued {
    /// Written to the outbox (boxed: the other answer is a number).
    Queued(Box<Alert>),
    /// Held back by `min_interval`; `count` alerts of this key are now held
    /// back since the last one queued.
    Suppressed {
        /// Held back so far, this one included.
        count: u64,
    },
}

/// The result of one delivery attempt, for
/// [`Store::record_alert_attempt`](crate::Store::record_alert_attempt).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlertAttempt {
    /// The destination took it.
    Delivered,
    /// It failed; tried again at `retry_at`, or never (`None`: given up).
    Failed {
        /// When to try again.
        retry_at: Option<DateTime<Utc>>,
        /// Why it failed.
        error: String,
    },
}
