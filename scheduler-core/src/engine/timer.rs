//! The timer loop: every active task's next instant in one ordered map of
//! instants (the tasks due at each, in the order they were scheduled), one
//! sleep until the earliest, no per-task timers and no polling of all tasks.
//! Tasks that share an instant share its entry: taking an instant of 10 000
//! fires costs 10 000 steps over one vector, not 10 000 heap sifts.
//!
//! Misfires (see docs/reference/semantics.md#misfires), with `misfire_threshold` = 5 s:
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
use crate::schedule::ScheduleCache;
use chrono::{DateTime, Duration, Utc};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
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
    /// After a misfire: the first and the latest instant missed.
    pub(crate) missed: Option<(DateTime<Utc>, DateTime<Utc>)>,
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
    next: DateTime<Utc>,
    seq: u64,
    /// The task's parsed schedule, once it has fired (a new entry is made
    /// when the schedule changes).
    schedule: Option<Arc<crate::schedule::Schedule>>,
}

/// One `take_due` pass: its time and threshold, the size of the instant
/// being taken, the next instants computed so far (tasks sharing a schedule
/// and an instant share their next instant), and the plans made.
struct Take {
    now: DateTime<Utc>,
    threshold: Duration,
    size: usize,
    next_of: FxHashMap<(*const crate::schedule::Schedule, DateTime<Utc>), Option<DateTime<Utc>>>,
    plans: Vec<FirePlan>,
}

/// The entries by task, each in a numbered slot: the instants refer to
/// slots, so taking an instant reads each entry by position instead of
/// hashing its task's id.
#[derive(Default)]
struct Entries {
    slots: Vec<Option<Entry>>,
    by_task: FxHashMap<TaskId, u32>,
    free: Vec<u32>,
}

impl Entries {
    fn len(&self) -> usize {
        self.by_task.len()
    }

    fn get_mut(&mut self, id: &TaskId) -> Option<&mut Entry> {
        let s = *self.by_task.get(id)?;
        self.at_mut(s)
    }

    fn at(&self, slot: u32) -> Option<&Entry> {
        self.slots.get(slot as usize)?.as_ref()
    }

    fn at_mut(&mut self, slot: u32) -> Option<&mut Entry> {
        self.slots.get_mut(slot as usize)?.as_mut()
    }

    /// Puts `entry` in its task's slot (a new one for a new task).
    fn insert(&mut self, entry: Entry) -> u32 {
        let slot = match self.by_task.get(&entry.task.id) {
            Some(s) => *s,
            None => {
                let s = self.free.pop().unwrap_or_else(|| {
                    self.slots.push(None);
                    u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
                });
                self.by_task.insert(entry.task.id.clone(), s);
                s
            }
        };
        self.slots[slot as usize] = Some(entry);
        slot
    }

    fn remove(&mut self, id: &TaskId) {
        if let Some(s) = self.by_task.remove(id) {
            self.slots[s as usize] = None;
            self.free.push(s);
        }
    }

    fn remove_at(&mut self, slot: u32) {
        if let Some(e) = self.slots.get_mut(slot as usize).and_then(Option::take) {
            self.by_task.remove(&e.task.id);
            self.free.push(slot);
        }
    }

    fn retain(&mut self, keep: impl Fn(&TaskId) -> bool) {
        let gone: Vec<TaskId> = self.by_task.keys().filter(|id| !keep(id)).cloned().collect();
        for id in gone {
            self.remove(&id);
        }
    }

    fn clear(&mut self) {
        *self = Self::default();
    }
}

struct Timer {
    entries: Entries,
    /// Parsed schedules, shared by expression and zone, bounded.
    schedules: ScheduleCache,
    /// Each instant with the tasks counting down to it, as `(slot, seq)`;
    /// a pair whose `seq` is no longer its slot's entry's is stale and
    /// skipped (sequence numbers are never reused, slots are).
    due: BTreeMap<DateTime<Utc>, Vec<(u32, u64)>>,
    seq: u64,
    loaded: bool,
    /// The next change poll asks for tasks changed at or after this.
    poll_from: DateTime<Utc>,
}

/// Distinct parsed schedules kept between fires (two generations of this).
const SCHEDULE_CACHE: usize = 4096;

/// Changes written by other instances are re-read with this overlap, so a
/// write that committed late, or an instance whose clock is slightly behind,
/// is not missed (a change already applied is recognised and skipped).
const POLL_OVERLAP: Duration = Duration::seconds(3);
/// A full reload every so often catches anything the change poll missed.
const FULL_RELOAD_EVERY: u32 = 60;

impl Timer {
    fn new() -> Self {
        Self {
            entries: Entries::default(),
            schedules: ScheduleCache::new(SCHEDULE_CACHE),
            due: BTreeMap::new(),
            seq: 0,
            loaded: false,
            poll_from: DateTime::<Utc>::MIN_UTC,
        }
    }

    /// Replaces the task set with `tasks` as read from the store: entries
    /// whose schedule did not change keep their countdown (and parsed
    /// schedule), removed tasks are dropped.
    ///
    /// A task's stored `next_run_time` is not moved by every fire (the
    /// batched claims leave it alone): its next instant is the later of the
    /// stored one and the one after its latest claimed fire (`last_fires`).
    fn resync(&mut self, tasks: Vec<Task>, last_fires: &HashMap<TaskId, DateTime<Utc>>, now: DateTime<Utc>) {
        let live: std::collections::HashSet<TaskId> = tasks.iter().map(|t| t.id.clone()).collect();
        self.entries.retain(|id| live.contains(id));
        for mut t in tasks {
            if let Some(last) = last_fires.get(&t.id)
                && t.next_run_time.is_none_or(|n| n <= *last)
                && let Ok(s) = self.schedules.get(&t.cron_expression, &t.timezone)
            {
                t.next_run_time = s.next_after(*last);
            }
            self.upsert(Arc::new(t), now);
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.due.clear();
        self.loaded = false;
    }

    fn earliest(&mut self) -> Option<DateTime<Utc>> {
        while let Some(mut first) = self.due.first_entry() {
            let list = first.get_mut();
            while let Some((slot, seq)) = list.last() {
                match self.entries.at(*slot) {
                    Some(e) if e.seq == *seq => return Some(*first.key()),
                    _ => {
                        list.pop();
                    }
                }
            }
            first.remove();
        }
        None
    }

    fn schedule_entry(&mut self, task: Arc<Task>, next: DateTime<Utc>) {
        self.seq += 1;
        let seq = self.seq;
        let slot = self.entries.insert(Entry {
            task,
            next,
            seq,
            schedule: None,
        });
        self.due.entry(next).or_default().push((slot, seq));
    }

    /// Applies a task as read from the store or written by this instance.
    fn upsert(&mut self, task: Arc<Task>, now: DateTime<Utc>) {
        if task.status != TaskStatus::Active {
            self.entries.remove(&task.id);
            return;
        }
        if let Some(e) = self.entries.get_mut(&task.id) {
            if e.task.updated_at == task.updated_at && e.task.status == task.status {
                // Already applied (a poll overlaps the previous one).
                return;
            }
            let same_schedule = e.task.cron_expression == task.cron_expression && e.task.timezone == task.timezone;
            if same_schedule {
                // Keep the instant this timer is counting down to; only the
                // task's options changed.
                e.task = task;
                return;
            }
        }
        // The stored next_run_time saves parsing the expression until the task fires.
        let next = match task.next_run_time {
            Some(t) => Some(t),
            None => match self.schedules.get(&task.cron_expression, &task.timezone) {
                Ok(s) => s.next_after(now),
                Err(err) => {
                    tracing::error!(task_id = %task.id, error = %err, "stored task has an invalid schedule; not scheduled");
                    None
                }
            },
        };
        match next {
            Some(next) => self.schedule_entry(task, next),
            None => {
                self.entries.remove(&task.id);
            }
        }
    }

    /// Pops entries due by `horizon`, at most `limit`, and plans their fires.
    fn take_due(
        &mut self,
        now: DateTime<Utc>,
        horizon: DateTime<Utc>,
        threshold: Duration,
        limit: usize,
    ) -> Vec<FirePlan> {
        let mut take = Take {
            now,
            threshold,
            size: 0,
            next_of: FxHashMap::default(),
            plans: Vec::new(),
        };
        while take.plans.len() < limit {
            let Some(first) = self.due.first_entry() else { break };
            if *first.key() > horizon {
                break;
            }
            // The whole instant when there is room for it, else its first part.
            let room = limit - take.plans.len();
            let taken = if first.get().len() <= room {
                first.remove()
            } else {
                let list = first.into_mut();
                let rest = list.split_off(room);
                std::mem::replace(list, rest)
            };
            // Tasks due together are mostly due together next time: a new
            // instant's vector starts at this one's size.
            take.size = taken.len();
            take.plans.reserve(taken.len());
            for (slot, seq) in taken {
                self.plan(slot, seq, &mut take);
            }
        }
        take.plans
    }

    /// Plans the fire of the task in `slot` if `seq` is still its entry's,
    /// and schedules its next instant.
    fn plan(&mut self, slot: u32, seq: u64, take: &mut Take) {
        let Some(entry) = self.entries.at_mut(slot) else { return };
        if entry.seq != seq {
            return;
        }
        let instant = entry.next;
        let parsed = match &entry.schedule {
            Some(s) => Ok(s.clone()),
            None => self
                .schedules
                .get(&entry.task.cron_expression, &entry.task.timezone)
                .inspect(|s| entry.schedule = Some(s.clone())),
        };
        let schedule = match parsed {
            Ok(s) => s,
            Err(err) => {
                tracing::error!(task_id = %entry.task.id, error = %err, "stored task has an invalid schedule; not scheduled");
                self.entries.remove_at(slot);
                return;
            }
        };
        let now = take.now;
        let (fire_at, kind, next, missed) = if now - instant > take.threshold {
            let next = schedule.next_after(now);
            let latest = schedule
                .latest_in(instant - Duration::milliseconds(1), now)
                .unwrap_or(instant);
            match entry.task.misfire_policy {
                MisfirePolicy::FireOnce => (latest, FireKind::Misfire, next, Some((instant, latest))),
                MisfirePolicy::Skip => (instant, FireKind::SkipMissed, next, Some((instant, latest))),
            }
        } else {
            let next = *take
                .next_of
                .entry((Arc::as_ptr(&schedule), instant))
                .or_insert_with(|| schedule.next_after(instant));
            (instant, FireKind::OnTime, next, None)
        };
        take.plans.push(FirePlan {
            task: entry.task.clone(),
            instant: fire_at,
            kind,
            next_run_time: next,
            missed,
        });
        match next {
            Some(n) => {
                self.seq += 1;
                entry.next = n;
                entry.seq = self.seq;
                self.due
                    .entry(n)
                    .or_insert_with(|| Vec::with_capacity(take.size))
                    .push((slot, self.seq));
            }
            None => {
                self.entries.remove_at(slot);
            }
        }
    }
}

pub(crate) async fn run(inner: Arc<Inner>, mut rx: mpsc::UnboundedReceiver<TimerMsg>) {
    let mut leader_rx = inner.leadership.subscribe();
    let mut timer = Timer::new();
    let poll_every = Duration::from_std(inner.config.change_poll_interval).unwrap_or(Duration::seconds(1));
    let ahead = Duration::from_std(inner.config.fire_ahead).unwrap_or_default();
    let threshold = Duration::from_std(inner.config.misfire_threshold).unwrap_or(Duration::seconds(5));
    let max_in_flight = inner.config.max_pending_fires.max(1);
    let mut next_poll = inner.now();
    let mut polls: u32 = 0;
    let mut recovered = false;
    // When this instance last became leader: attempts sent before it are a
    // previous leader's.
    let mut leading_since = None;
    loop {
        if inner.shutdown.is_cancelled() {
            return;
        }
        let leading = *leader_rx.borrow_and_update();
        metrics::leader(leading);
        if !leading {
            leading_since = None;
            if timer.loaded {
                tracing::info!(instance_id = %inner.instance_id, "not the leader: timer stopped");
            }
            timer.clear();
            recovered = false;
            inner.ready.send_replace(false);
            tokio::select! {
                _ = inner.shutdown.cancelled() => return,
                r = leader_rx.changed() => if r.is_err() { return },
                // Changes made here while following are picked up by the full load.
                m = rx.recv() => if m.is_none() { return },
            }
            continue;
        }
        let since = *leading_since.get_or_insert_with(|| inner.now());
        if !timer.loaded {
            let load_started = inner.now();
            match load(&inner).await {
                Ok((tasks, last_fires)) => {
                    let now = inner.now();
                    // The load saw every change committed before it started.
                    timer.poll_from = load_started - POLL_OVERLAP;
                    timer.resync(tasks, &last_fires, now);
                    timer.loaded = true;
                    inner.ready.send_replace(true);
                    next_poll = now + poll_every;
                    tracing::info!(instance_id = %inner.instance_id, tasks = timer.entries.len(), "leader: timer loaded");
                    if !recovered {
                        // Only on becoming leader: this instance has nothing
                        // in flight yet, so every unanswered attempt is a
                        // previous leader's. Beside the timer, which never
                        // waits for a store write.
                        recovered = true;
                        let me = inner.clone();
                        inner.spawn(async move { me.recover(since).await });
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
        // At the bound of fires in flight the timer takes none: it waits for
        // fires to leave (or for its next poll), and what is due stays due.
        let room = max_in_flight.saturating_sub(inner.fires_in_flight.load(Ordering::Acquire));
        let wake = match timer.earliest() {
            Some(t) if room > 0 => (t - ahead).min(next_poll),
            _ => next_poll,
        };
        tokio::select! {
            biased;
            _ = inner.shutdown.cancelled() => return,
            _ = inner.fires_done.notified(), if room == 0 => {}
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
            if polls.is_multiple_of(FULL_RELOAD_EVERY) {
                timer.loaded = false;
                continue;
            }
            match inner.store.tasks_changed_since(timer.poll_from).await {
                Ok(changed) => {
                    // Everything committed before `now - overlap` has been seen.
                    timer.poll_from = now - POLL_OVERLAP;
                    for t in changed {
                        timer.upsert(Arc::new(t), now);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot poll task changes"),
            }
        }
        let room = max_in_flight.saturating_sub(inner.fires_in_flight.load(Ordering::Acquire));
        let plans = timer.take_due(now, now + ahead, threshold, room);
        if !plans.is_empty() {
            let n = inner.fires_in_flight.fetch_add(plans.len(), Ordering::AcqRel) + plans.len();
            metrics::fire_backlog(n);
            launch(&inner, plans);
        }
    }
}

/// The active tasks and their latest claimed fires.
async fn load(inner: &Inner) -> crate::store::StoreResult<(Vec<Task>, HashMap<TaskId, DateTime<Utc>>)> {
    let tasks = inner.store.active_tasks().await?;
    let ids: Vec<TaskId> = tasks.iter().map(|t| t.id.clone()).collect();
    let last_fires = inner.store.last_fire_times(&ids).await?;
    Ok((tasks, last_fires))
}

/// Hands a batch of planned fires to the fire pipeline, grouped by instant.
fn launch(inner: &Arc<Inner>, plans: Vec<FirePlan>) {
    if let Some(first) = plans.first()
        && plans.iter().all(|p| p.instant == first.instant)
    {
        // The usual case: one instant, handed over as it is.
        let (me, instant) = (inner.clone(), first.instant);
        inner.spawn(async move { me.fire_group(instant, plans).await });
        return;
    }
    let mut by_instant: BTreeMap<DateTime<Utc>, Vec<FirePlan>> = BTreeMap::new();
    for p in plans {
        by_instant.entry(p.instant).or_default().push(p);
    }
    for (instant, plans) in by_instant {
        let me = inner.clone();
        inner.spawn(async move { me.fire_group(instant, plans).await });
    }
}
