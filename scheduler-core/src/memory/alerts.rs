//! The memory store's alert outbox, under its own mutex: alerts are not on
//! the engine's hot paths and need not wait for the execution state's lock.

use crate::store::*;
use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Suppression state of one `(target, key)`.
#[derive(Debug, Clone, Copy)]
struct KeyState {
    last_queued: DateTime<Utc>,
    held_back: u64,
}

#[derive(Debug, Default)]
pub(super) struct Outbox {
    alerts: HashMap<String, Alert>,
    /// Newest first is this read backwards.
    by_at: BTreeSet<(DateTime<Utc>, String)>,
    /// Undelivered, not given up, by next attempt.
    due: BTreeSet<(DateTime<Utc>, String)>,
    keys: BTreeMap<(String, String), KeyState>,
}

impl Outbox {
    pub(super) fn enqueue(&mut self, new: &NewAlert, min_interval: Option<Duration>) -> StoreResult<AlertEnqueued> {
        if new.key.len() > MAX_ALERT_KEY_LEN {
            return Err(StoreError::Invalid(format!(
                "alert key longer than {MAX_ALERT_KEY_LEN} bytes"
            )));
        }
        if self.alerts.contains_key(&new.id) {
            return Err(StoreError::Conflict(format!("alert {} already exists", new.id)));
        }
        let slot = (new.target.clone(), new.key.clone());
        let held_back = match self.keys.get_mut(&slot) {
            Some(k) if min_interval.is_some_and(|d| new.at < k.last_queued + d) => {
                k.held_back += 1;
                return Ok(AlertEnqueued::Suppressed { count: k.held_back });
            }
            Some(k) => std::mem::take(&mut k.held_back),
            None => 0,
        };
        self.keys.insert(
            slot,
            KeyState {
                last_queued: new.at,
                held_back: 0,
            },
        );
        let alert = Alert {
            id: new.id.clone(),
            target: new.target.clone(),
            event: new.event,
            at: new.at,
            subject: new.subject.clone(),
            message: new.message.clone(),
            suppressed: held_back,
            delivered: false,
            attempts: 0,
            next_attempt_at: Some(new.next_attempt_at),
            last_error: None,
        };
        self.by_at.insert((alert.at, alert.id.clone()));
        self.due.insert((new.next_attempt_at, alert.id.clone()));
        self.alerts.insert(alert.id.clone(), alert.clone());
        Ok(AlertEnqueued::Queued(Box::new(alert)))
    }

    pub(super) fn due(&self, now: DateTime<Utc>, limit: u32) -> Vec<Alert> {
        self.due
            .iter()
            .take_while(|(t, _)| *t <= now)
            .take(limit as usize)
            .filter_map(|(_, id)| self.alerts.get(id).cloned())
            .collect()
    }

    pub(super) fn record(&mut self, id: &str, attempt: &AlertAttempt) -> StoreResult<Alert> {
        let a = self.alerts.get_mut(id).ok_or_else(|| StoreError::NotFound {
            kind: "alert",
            id: id.to_owned(),
        })?;
        if a.delivered {
            return Err(StoreError::Conflict(format!("alert {id} is already delivered")));
        }
        if let Some(t) = a.next_attempt_at.take() {
            self.due.remove(&(t, a.id.clone()));
        }
        a.attempts += 1;
        match attempt {
            AlertAttempt::Delivered => {
                a.delivered = true;
                a.last_error = None;
            }
            AlertAttempt::Failed { retry_at, error } => {
                a.next_attempt_at = *retry_at;
                a.last_error = Some(error.clone());
                if let Some(t) = retry_at {
                    self.due.insert((*t, a.id.clone()));
                }
            }
        }
        Ok(a.clone())
    }

    pub(super) fn list(&self, since: DateTime<Utc>, page: Page) -> Paged<Alert> {
        let rows = self
            .by_at
            .range((since, String::new())..)
            .rev()
            .filter_map(|(_, id)| self.alerts.get(id));
        super::page_of(rows, page)
    }

    pub(super) fn backlog(&self) -> u64 {
        self.due.len() as u64
    }

    pub(super) fn purge(&mut self, before: DateTime<Utc>) -> u64 {
        let keep = self.by_at.split_off(&(before, String::new()));
        let gone = std::mem::replace(&mut self.by_at, keep);
        for (_, id) in &gone {
            if let Some(a) = self.alerts.remove(id)
                && let Some(t) = a.next_attempt_at
            {
                self.due.remove(&(t, a.id));
            }
        }
        self.keys.retain(|_, k| k.last_queued >= before);
        gone.len() as u64
    }
}
