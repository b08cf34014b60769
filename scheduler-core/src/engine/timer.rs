//! The timer loop: every active task's next instant in one ordered heap, one
//! sleep until the earliest, no per-task timers and no polling of all tasks.
//!
//! Misfires (CONTRACT §2), with `misfire_threshold` = 5 s:
//!
//! ```text
//! instants:  10:00:00  10:00:10  10:00:20  10:00:30
//! leader:    ──down──────────────────┐ up at 10:00:27
//! due:       10:00:00, late by 27 s > 5 s  => misfire
//! fire_once: one execution, scheduled_time 10:00:20 (the latest missed), then 10:00:30
//! skip:      nothing, then 10:00:30
//! a fire late by <= 5 s (a busy moment) is simply fired, with its own instant.
//! ```

use super::{Inner, metrics};
use crate::domain::{MisfirePolicy, Task, TaskId, TaskStatus};
use crate::schedule::Schedule;
use chrono::{DateTime, Duration, Utc};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::Arc;
use tokio::sync::mpsc;

/// A change this instance made, applied at once.
pub(crate) enum TimerMsg {
    Upsert(Arc<Task>),
    /// The store failed while claiming: reload from the store later so the
    /// persisted `next_run_time` (and the misfire rule) decide.
    Reload,
}

/// One planned fire of a task.
pub(crate) struct FirePlan {
    pub(crate) task: Arc<Task>,
    pub(crate) instant: DateTime<Utc>,
    pub(crate) kind: FireKind,
    /// What `next_run_time` becomes once this fire is recorded.
    pub(crate) next_run_time: Option<DateTime<Utc>>,
}

/// Why a plan exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FireKind {
    /// The instant itself, on time.
    OnTime,
    /// `fire_once` after a misfire: the latest missed instant, fired now.
    Misfire,
    /// `skip` after a misfire: nothing fires; only `next_run_time` moves on.
    SkipMissed,
}

struct Entry {
    task: Arc<Task>,
    schedule: Arc<Schedule>,
    next: DateTime<Utc>,
    seq: u64,
}

#[derive(Default)]
struct Timer {
    entries: HashMap<TaskId, Entry>,
    heap: BinaryHeap<Reverse<(DateTime<Utc>, u64, TaskId)>>,
    seq: u64,
    loaded: bool,
    /// `updated_at` of the newest change seen from the store.
    cursor: Option<DateTime<Utc>>,
}

/// Changes written by other instances are re-read with this overlap, so a
/// write that committed late, or an instance whose clock is slightly behind,
/// is not missed (re-applying a change is harmless).
const POLL_OVERLAP: Duration = Duration::seconds(5);
/// A full reload every so often catches anything the change poll missed.
const FULL_RELOAD_EVERY: u32 = 60;

impl Timer {
    fn clear(&mut self) {
        self.entries.clear();
        self.heap.clear();
        self.loaded = false;
    }

    fn earliest(&mut self) -> Option<DateTime<Utc>> {
        while let Some(Reverse((t, seq, id))) = self.heap.peek() {
            match self.entries.get(id) {
                Some(e) if e.seq == *seq => return Some(*t),
                _ => {
                    self.heap.pop();
                }
            }
        }
        None
    }

    fn schedule_entry(&mut self, task: Arc<Task>, schedule: Arc<Schedule>, next: DateTime<Utc>) {
        self.seq += 1;
        let seq = self.seq;
        self.heap.push(Reverse((next, seq, task.id.clone())));
        self.entries.insert(
            task.id.clone(),
            Entry {
                task,
                schedule,
                next,
                seq,
            },
        );
    }

    /// Applies a task as read from the store or written by this instance.
    fn upsert(&mut self, task: Arc<Task>, now: DateTime<Utc>) {
        if task.status != TaskStatus::Active {
            self.entries.remove(&task.id);
            return;
        }
        if let Some(e) = self.entries.get_mut(&task.id) {
            let same_schedule = e.task.cron_expression == task.cron_expression && e.task.timezone == task.timezone;
            if same_schedule {
                // Keep the instant this timer is counting down to; only the
                // task's options changed (or nothing did).
                e.task = task;
                return;
            }
        }
        let schedule = match task.schedule() {
            Ok(s) => s,
            Err(err) => {
                tracing::error!(task_id = %task.id, error = %err, "stored task has an invalid schedule; not scheduled");
                self.entries.remove(&task.id);
                return;
            }
        };
        let next = task.next_run_time.or_else(|| schedule.next_after(now));
        let schedule = Arc::new(schedule);
        match next {
            Some(next) => self.schedule_entry(task, schedule, next),
            None => {
                self.entries.remove(&task.id);
            }
        }
    }

    /// Pops every entry due by `horizon` and plans its fire.
    fn take_due(&mut self, now: DateTime<Utc>, horizon: DateTime<Utc>, threshold: Duration) -> Vec<FirePlan> {
        let mut plans = Vec::new();
        while let Some(Reverse((t, seq, _))) = self.heap.peek() {
            if *t > horizon {
                break;
            }
            let seq = *seq;
            let Some(Reverse((_, _, id))) = self.heap.pop() else {
                break;
            };
            let Some(entry) = self.entries.get_mut(&id) else {
                continue;
            };
            if entry.seq != seq {
                continue;
            }
            let instant = entry.next;
            let (fire_at, kind, next) = if now - instant > threshold {
                let next = entry.schedule.next_after(now);
                match entry.task.misfire_policy {
                    MisfirePolicy::FireOnce => {
                        let latest = entry
                            .schedule
                            .latest_in(instant - Duration::milliseconds(1), now)
                            .unwrap_or(instant);
                        (latest, FireKind::Misfire, next)
                    }
                    MisfirePolicy::Skip => (instant, FireKind::SkipMissed, next),
                }
            } else {
                (instant, FireKind::OnTime, entry.schedule.next_after(instant))
            };
            plans.push(FirePlan {
                task: entry.task.clone(),
                instant: fire_at,
                kind,
                next_run_time: next,
            });
            match next {
                Some(n) => {
                    self.seq += 1;
                    entry.next = n;
                    entry.seq = self.seq;
                    self.heap.push(Reverse((n, self.seq, id)));
                }
                None => {
                    self.entries.remove(&id);
                }
            }
        }
        plans
    }
}

pub(crate) async fn run(inner: Arc<Inner>, mut rx: mpsc::UnboundedReceiver<TimerMsg>) {
    let mut leader_rx = inner.leadership.subscribe();
    let mut timer = Timer::default();
    let poll_every = Duration::from_std(inner.config.change_poll_interval).unwrap_or(Duration::seconds(1));
    let ahead = Duration::from_std(inner.config.fire_ahead).unwrap_or_default();
    let threshold = Duration::from_std(inner.config.misfire_threshold).unwrap_or(Duration::seconds(5));
    let mut next_poll = inner.now();
    let mut polls: u32 = 0;
    let mut recovered = false;
    loop {
        if inner.shutdown.is_cancelled() {
            return;
        }
        let leading = *leader_rx.borrow_and_update();
        metrics::leader(leading);
        if !leading {
            if timer.loaded {
                tracing::info!(instance_id = %inner.instance_id, "not the leader: timer stopped");
            }
            timer.clear();
            recovered = false;
            tokio::select! {
                _ = inner.shutdown.cancelled() => return,
                r = leader_rx.changed() => if r.is_err() { return },
                // Changes made here while following are picked up by the full load.
                m = rx.recv() => if m.is_none() { return },
            }
            continue;
        }
        if !timer.loaded {
            match inner.store.active_tasks().await {
                Ok(tasks) => {
                    let now = inner.now();
                    timer.clear();
                    timer.cursor = tasks.iter().map(|t| t.updated_at).max();
                    for t in tasks {
                        timer.upsert(Arc::new(t), now);
                    }
                    timer.loaded = true;
                    next_poll = now + poll_every;
                    tracing::info!(instance_id = %inner.instance_id, tasks = timer.entries.len(), "leader: timer loaded");
                    if !recovered {
                        // Only on becoming leader: this instance has nothing
                        // in flight yet, so every unanswered attempt is a
                        // previous leader's.
                        recovered = true;
                        inner.recover().await;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot load tasks; retrying");
                    let retry_at = inner.now() + Duration::seconds(1);
                    tokio::select! {
                        _ = inner.shutdown.cancelled() => return,
                        _ = inner.clock.sleep_until(retry_at) => {}
                    }
                    continue;
                }
            }
        }
        let wake = match timer.earliest() {
            Some(t) => (t - ahead).min(next_poll),
            None => next_poll,
        };
        tokio::select! {
            biased;
            _ = inner.shutdown.cancelled() => return,
            r = leader_rx.changed() => { if r.is_err() { return } continue; }
            m = rx.recv() => {
                let Some(m) = m else { return };
                let now = inner.now();
                let mut msgs = vec![m];
                while let Ok(m) = rx.try_recv() {
                    msgs.push(m);
                }
                for m in msgs {
                    match m {
                        TimerMsg::Upsert(t) => timer.upsert(t, now),
                        TimerMsg::Reload => timer.loaded = false,
                    }
                }
            }
            _ = inner.clock.sleep_until(wake) => {}
        }
        let now = inner.now();
        if now >= next_poll {
            next_poll = now + poll_every;
            polls = polls.wrapping_add(1);
            if polls % FULL_RELOAD_EVERY == 0 {
                timer.loaded = false;
                continue;
            }
            let since = timer.cursor.map_or(DateTime::<Utc>::MIN_UTC, |c| c - POLL_OVERLAP);
            match inner.store.tasks_changed_since(since).await {
                Ok(changed) => {
                    for t in changed {
                        timer.cursor = Some(timer.cursor.map_or(t.updated_at, |c| c.max(t.updated_at)));
                        timer.upsert(Arc::new(t), now);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot poll task changes"),
            }
        }
        let plans = timer.take_due(now, now + ahead, threshold);
        if !plans.is_empty() {
            launch(&inner, plans);
        }
    }
}

/// Hands a batch of planned fires to the fire pipeline, grouped by instant.
fn launch(inner: &Arc<Inner>, plans: Vec<FirePlan>) {
    let mut by_instant: BTreeMap<DateTime<Utc>, Vec<FirePlan>> = BTreeMap::new();
    for p in plans {
        by_instant.entry(p.instant).or_default().push(p);
    }
    for (instant, plans) in by_instant {
        let me = inner.clone();
        inner.spawn(async move { me.fire_group(instant, plans).await });
    }
}
