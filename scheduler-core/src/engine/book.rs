//! The fire bookkeeping the stages share, in one owner: what this instance
//! changed, stopped or could not hand back while fires were prepared ahead
//! of their instant.
//!
//! A fire is claimed with its attempt recorded `fire_ahead` before its
//! instant (`fire.rs`). Until it is sent, three things can overtake it, and
//! the instant must know:
//!
//! - its task was paused, deleted or rescheduled through this instance
//!   ([`FireBook::note_change`]): the fire is re-checked and maybe cancelled;
//! - the execution was stopped through this instance
//!   ([`FireBook::note_stop`]): the fire is not sent;
//! - the instance lost leadership or the store failed, and the recorded
//!   attempt could not be handed back ([`FireBook::note_unsent`]): it is
//!   handed back later (sweeper, recovery) instead of waiting for its timeout.

use crate::domain::{ExecutionId, TaskId};
use chrono::{DateTime, Duration, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How long a stop of a maybe-unsent attempt is remembered for the instant
/// that would send it (far longer than `fire_ahead`).
const STOPS_KEPT: Duration = Duration::seconds(60);
/// How long a task change is remembered for fires prepared before it.
const CHANGES_KEPT: Duration = Duration::seconds(60);

#[derive(Default)]
pub(crate) struct FireBook {
    changes: Mutex<Changes>,
    stops: Mutex<HashMap<ExecutionId, DateTime<Utc>>>,
    /// How many entries `stops` has: the instant reads this, not the map.
    stops_len: AtomicUsize,
    unsent: Mutex<Vec<(ExecutionId, u32)>>,
}

/// Tasks this instance changed, and when; `last` answers "anything since?"
/// without a scan.
#[derive(Default)]
struct Changes {
    by_task: HashMap<TaskId, DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Plain maps: a panic elsewhere cannot leave them unusable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl FireBook {
    /// This instance changed `task` at `at`.
    pub(crate) fn note_change(&self, task: &TaskId, at: DateTime<Utc>) {
        let mut c = lock(&self.changes);
        c.by_task.insert(task.clone(), at);
        c.last = c.last.max(Some(at));
    }

    /// Which of `tasks` this instance changed at or after `since` (O(1) when
    /// nothing changed).
    pub(crate) fn changed_since<'a>(
        &self,
        since: DateTime<Utc>,
        tasks: impl Iterator<Item = &'a TaskId>,
    ) -> HashSet<TaskId> {
        let mut c = lock(&self.changes);
        if c.last.is_none_or(|last| last < since) {
            return HashSet::new();
        }
        let horizon = since - CHANGES_KEPT;
        c.by_task.retain(|_, at| *at >= horizon);
        tasks
            .filter(|t| c.by_task.get(*t).is_some_and(|at| *at >= since))
            .cloned()
            .collect()
    }

    /// `id` was stopped at `at` while its attempt was recorded but maybe not
    /// sent.
    pub(crate) fn note_stop(&self, id: &ExecutionId, at: DateTime<Utc>) {
        let mut stops = lock(&self.stops);
        stops.retain(|_, t| *t >= at - STOPS_KEPT);
        stops.insert(id.clone(), at);
        self.stops_len.store(stops.len(), Ordering::Relaxed);
    }

    /// Whether `id` was stopped before its prepared attempt was sent (and
    /// forgets it). One atomic read when nothing was stopped.
    pub(crate) fn stopped_before_sent(&self, id: &ExecutionId) -> bool {
        if self.stops_len.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let mut stops = lock(&self.stops);
        let found = stops.remove(id).is_some();
        self.stops_len.store(stops.len(), Ordering::Relaxed);
        found
    }

    /// Attempts recorded as sent that were never sent, to hand back later.
    pub(crate) fn note_unsent(&self, attempts: impl IntoIterator<Item = (ExecutionId, u32)>) {
        lock(&self.unsent).extend(attempts);
    }

    /// Takes every attempt waiting to be handed back.
    pub(crate) fn take_unsent(&self) -> Vec<(ExecutionId, u32)> {
        std::mem::take(&mut *lock(&self.unsent))
    }
}
