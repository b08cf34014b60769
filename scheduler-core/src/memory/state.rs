//! The memory store's state: tasks and executors as they are, executions as
//! compact [`rows`](super::rows) with secondary [`indexes`](super::indexes)
//! over row slots, and counters, so the engine's hot queries and the totals
//! do not depend on how many executions are stored. One mutex in
//! [`MemoryStore`](super::MemoryStore) guards all of it.

use super::indexes::{TimeIndex, ordered};
use super::rows::{CLAIMED, Interner, NO_SLOT, Row, Rows, Slot, nanos, time};
use crate::domain::*;
use crate::store::*;
use chrono::{DateTime, Utc};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub(super) type TimeKey<Id> = (DateTime<Utc>, Id);

const NANOS_PER_HOUR: i64 = 3_600_000_000_000;

#[derive(Debug)]
pub(super) struct State {
    pub(super) tasks: HashMap<TaskId, Task>,
    pub(super) tasks_by_created: BTreeSet<TimeKey<TaskId>>,
    pub(super) tasks_by_updated: BTreeSet<TimeKey<TaskId>>,
    pub(super) live_names: HashMap<String, TaskId>,
    pub(super) assignments: HashMap<TaskId, Vec<TaskExecutor>>,

    pub(super) executors: BTreeMap<ExecutorId, Executor>,
    pub(super) instance_ids: HashMap<String, ExecutorId>,

    /// Every task and executor id an execution has referred to; never
    /// shrinks (tasks are never removed, executors rarely).
    pub(super) task_slots: Interner<TaskId>,
    pub(super) executor_slots: Interner<ExecutorId>,
    /// Per task slot.
    pub(super) per_task: Vec<PerTask>,

    pub(super) rows: Rows,
    pub(super) by_time: TimeIndex,
    pub(super) by_executor: HashMap<Slot, TimeIndex>,
    /// Pending and not sent, by when it may be sent.
    pub(super) due: TimeIndex,
    /// Pending and sent (few: ordered by id when read).
    pub(super) unanswered: HashSet<Slot>,
    /// Not final, by timeout.
    pub(super) deadlines: TimeIndex,
    running_by_executor: HashMap<Slot, u64>,
    pub(super) pending: u64,
    pub(super) running: u64,

    /// `history.max_log_bytes`.
    pub(super) max_log_bytes: usize,

    pub(super) lb: HashMap<(TaskId, String), LbState>,
    pub(super) instances: BTreeMap<String, SchedulerInstance>,
}

/// What the store keeps per task (by task slot), together so that an
/// execution's writes touch one place per task.
#[derive(Debug, Default)]
pub(super) struct PerTask {
    /// The task's executions by scheduled time.
    pub(super) executions: TimeIndex,
    activity: TaskActivity,
    /// The parameters of its latest execution, shared with the next one
    /// when equal (fires copy the task's parameters).
    last_params: Option<Arc<serde_json::Value>>,
    /// Counters of its final executions per UTC hour of `scheduled_time`.
    pub(super) hours: Hours,
}

/// Counters per UTC hour, keyed by the hour's first nanosecond: the latest
/// hour counted kept apart from the earlier ones, since nearly every
/// execution is counted in it.
#[derive(Debug, Default)]
pub(super) struct Hours {
    latest: Option<(i64, StatusCounts)>,
    earlier: BTreeMap<i64, StatusCounts>,
}

impl Hours {
    /// The counters of `hour`, made when missing.
    pub(super) fn at(&mut self, hour: i64) -> &mut StatusCounts {
        match self.latest {
            Some((h, _)) if h > hour => return self.earlier.entry(hour).or_default(),
            // A later hour: the latest one becomes an earlier one.
            Some((h, counts)) if h < hour => {
                self.earlier.insert(h, counts);
                self.latest = None;
            }
            _ => {}
        }
        &mut self.latest.get_or_insert((hour, StatusCounts::default())).1
    }

    /// The hours within `from..=to`, in order.
    pub(super) fn range(&self, from: i64, to: i64) -> impl Iterator<Item = (i64, StatusCounts)> + '_ {
        let latest = self.latest.filter(|(h, _)| (from..=to).contains(h));
        self.earlier.range(from..=to).map(|(h, c)| (*h, *c)).chain(latest)
    }

    /// Drops the hours before `before`; how many.
    pub(super) fn purge_before(&mut self, before: i64) -> u64 {
        let keep = self.earlier.split_off(&before);
        let mut n = self.earlier.len() as u64;
        self.earlier = keep;
        if self.latest.is_some_and(|(h, _)| h < before) {
            self.latest = None;
            n += 1;
        }
        n
    }
}

/// The fields of a row the indexes depend on.
#[derive(Clone, Copy)]
pub(super) struct Indexed {
    slot: Slot,
    task: Slot,
    status: ExecutionStatus,
    executor: Slot,
    scheduled: i64,
    created: i64,
    dispatched: bool,
    next_attempt: Option<i64>,
    timeout: Option<i64>,
}

impl Indexed {
    pub(super) fn of(slot: Slot, r: &Row) -> Self {
        Self {
            slot,
            task: r.task,
            status: r.status,
            executor: r.executor,
            scheduled: r.scheduled,
            created: r.created,
            dispatched: Row::has_time(r.dispatched),
            next_attempt: Some(r.next_attempt).filter(|t| Row::has_time(*t)),
            timeout: Some(r.timeout).filter(|t| Row::has_time(*t)),
        }
    }
}

impl State {
    pub(super) fn new(max_log_bytes: usize) -> Self {
        Self {
            tasks: HashMap::default(),
            tasks_by_created: BTreeSet::new(),
            tasks_by_updated: BTreeSet::new(),
            live_names: HashMap::default(),
            assignments: HashMap::default(),
            executors: BTreeMap::new(),
            instance_ids: HashMap::default(),
            task_slots: Interner::new(),
            executor_slots: Interner::new(),
            per_task: Vec::new(),
            rows: Rows::default(),
            by_time: TimeIndex::new(),
            by_executor: HashMap::default(),
            due: TimeIndex::new(),
            unanswered: HashSet::default(),
            deadlines: TimeIndex::new(),
            running_by_executor: HashMap::default(),
            pending: 0,
            running: 0,
            max_log_bytes,
            lb: HashMap::default(),
            instances: BTreeMap::new(),
        }
    }

    pub(super) fn task(&self, id: &TaskId) -> StoreResult<&Task> {
        self.tasks.get(id).ok_or_else(|| StoreError::task_not_found(id))
    }

    pub(super) fn check_executors_exist(&self, executors: &[TaskExecutor]) -> StoreResult<()> {
        match executors.iter().find(|a| !self.executors.contains_key(&a.executor_id)) {
            Some(a) => Err(StoreError::executor_not_found(&a.executor_id)),
            None => Ok(()),
        }
    }

    pub(super) fn put_task(&mut self, task: Task) -> Task {
        if let Some(old) = self.tasks.get(&task.id) {
            self.tasks_by_updated.remove(&(old.updated_at, old.id.clone()));
            if old.status != TaskStatus::Deleted && self.live_names.get(&old.name) == Some(&old.id) {
                self.live_names.remove(&old.name);
            }
        } else {
            self.tasks_by_created.insert((task.created_at, task.id.clone()));
        }
        self.tasks_by_updated.insert((task.updated_at, task.id.clone()));
        if task.status != TaskStatus::Deleted {
            self.live_names.insert(task.name.clone(), task.id.clone());
        }
        self.tasks.insert(task.id.clone(), task.clone());
        task
    }

    pub(super) fn name_free(&self, name: &str, for_task: &TaskId) -> StoreResult<()> {
        match self.live_names.get(name) {
            Some(owner) if owner != for_task => Err(StoreError::NameTaken(name.to_owned())),
            _ => Ok(()),
        }
    }

    /// The slot of a task, created with its per-task entries on first use.
    fn task_slot(&mut self, id: &TaskId) -> Slot {
        let slot = self.task_slots.intern(id);
        let n = self.task_slots.len();
        self.per_task.resize_with(n, PerTask::default);
        slot
    }

    fn executor_slot(&mut self, id: Option<&ExecutorId>) -> Slot {
        id.map_or(NO_SLOT, |x| self.executor_slots.intern(x))
    }

    /// The per-task counters of pending and running executions.
    pub(super) fn activity(&self, task: &TaskId) -> TaskActivity {
        self.task_slots
            .get(task)
            .and_then(|s| self.per_task.get(s as usize))
            .map(|t| t.activity)
            .unwrap_or_default()
    }

    pub(super) fn running_on(&self, executor: &ExecutorId) -> u64 {
        self.executor_slots
            .get(executor)
            .and_then(|x| self.running_by_executor.get(&x).copied())
            .unwrap_or(0)
    }

    /// The stored execution in `slot`.
    pub(super) fn execution(&self, slot: Slot) -> Execution {
        self.rows.decode(slot, &self.task_slots, &self.executor_slots, true)
    }

    /// The execution in `slot` as list items show it: no logs, no result.
    pub(super) fn list_item(&self, slot: Slot) -> Execution {
        self.rows.decode(slot, &self.task_slots, &self.executor_slots, false)
    }

    /// Moves a row's entries in the indexes that depend on mutable fields
    /// from what `old` needs to what `new` needs, touching only the indexes
    /// whose key changed. `None` means "not stored".
    pub(super) fn reindex(&mut self, old: Option<&Indexed>, new: Option<&Indexed>) {
        let slot = match (old, new) {
            (Some(e), _) | (None, Some(e)) => e.slot,
            (None, None) => return,
        };
        // Status counters and per-task activity.
        if old.map(|e| e.status) != new.map(|e| e.status) {
            if let Some(o) = old {
                self.count(o, false);
            }
            if let Some(n) = new {
                self.count(n, true);
            }
        }
        // Executions by executor.
        let executor = |e: Option<&Indexed>| e.filter(|e| e.executor != NO_SLOT).map(|e| (e.executor, e.scheduled));
        let (xo, xn) = (executor(old), executor(new));
        if xo != xn {
            if let Some((x, t)) = xo
                && let Some(set) = self.by_executor.get_mut(&x)
            {
                set.remove(&(t, slot));
                if set.is_empty() {
                    self.by_executor.remove(&x);
                }
            }
            if let Some((x, t)) = xn {
                self.by_executor.entry(x).or_default().insert((t, slot));
            }
        }
        // Running executions by executor (least_loaded).
        let running_on = |e: Option<&Indexed>| {
            e.filter(|e| e.status == ExecutionStatus::Running && e.executor != NO_SLOT)
                .map(|e| e.executor)
        };
        let (ro, rn) = (running_on(old), running_on(new));
        if ro != rn {
            if let Some(x) = ro
                && let Some(n) = self.running_by_executor.get_mut(&x)
            {
                *n = n.saturating_sub(1);
            }
            if let Some(x) = rn {
                *self.running_by_executor.entry(x).or_default() += 1;
            }
        }
        // Due (pending, not sent), unanswered (pending, sent) and deadlines.
        let due = |e: Option<&Indexed>| {
            e.filter(|e| e.status == ExecutionStatus::Pending && !e.dispatched)
                .map(|e| e.next_attempt.unwrap_or(e.created))
        };
        let (d_old, d_new) = (due(old), due(new));
        if d_old != d_new {
            if let Some(t) = d_old {
                self.due.remove(&(t, slot));
            }
            if let Some(t) = d_new {
                self.due.insert((t, slot));
            }
        }
        let unanswered = |e: Option<&Indexed>| e.is_some_and(|e| e.status == ExecutionStatus::Pending && e.dispatched);
        let (u_old, u_new) = (unanswered(old), unanswered(new));
        if u_old != u_new {
            if u_new {
                self.unanswered.insert(slot);
            } else {
                self.unanswered.remove(&slot);
            }
        }
        let deadline = |e: Option<&Indexed>| e.filter(|e| !e.status.is_final()).and_then(|e| e.timeout);
        let (t_old, t_new) = (deadline(old), deadline(new));
        if t_old != t_new {
            if let Some(t) = t_old {
                self.deadlines.remove(&(t, slot));
            }
            if let Some(t) = t_new {
                self.deadlines.insert((t, slot));
            }
        }
    }

    fn count(&mut self, e: &Indexed, add: bool) {
        let bump = |n: &mut u64| {
            if add {
                *n += 1;
            } else {
                *n = n.saturating_sub(1);
            }
        };
        let activity = &mut self.per_task[e.task as usize].activity;
        match e.status {
            ExecutionStatus::Pending => {
                bump(&mut self.pending);
                bump(&mut activity.pending);
            }
            ExecutionStatus::Running => {
                bump(&mut self.running);
                bump(&mut activity.running);
            }
            _ => {}
        }
    }

    /// The slot of an existing task; `NotFound` when there is no such task.
    fn existing_task_slot(&mut self, id: &TaskId) -> StoreResult<Slot> {
        match self.task_slots.get(id) {
            // A task with a slot exists: slots are made for existing tasks
            // only, and tasks are never removed.
            Some(slot) => Ok(slot),
            None if self.tasks.contains_key(id) => Ok(self.task_slot(id)),
            None => Err(StoreError::task_not_found(id)),
        }
    }

    /// Stores a new execution (logs bounded); `flags` as [`Rows::insert`].
    pub(super) fn insert_execution(&mut self, e: &Execution, flags: u8) -> StoreResult<Slot> {
        let task = self.existing_task_slot(&e.task_id)?;
        self.insert_in(task, e, flags)
    }

    /// [`insert_execution`](Self::insert_execution) for the task in `task`.
    fn insert_in(&mut self, task: Slot, e: &Execution, flags: u8) -> StoreResult<Slot> {
        let bounded;
        let e = match &e.logs {
            Some(logs) if logs.len() > self.max_log_bytes => {
                bounded = Execution {
                    logs: Some(logs::bounded(logs, self.max_log_bytes)),
                    ..e.clone()
                };
                &bounded
            }
            _ => e,
        };
        let executor = self.executor_slot(e.executor_id.as_ref());
        let params = e.parameters.as_ref().map(|p| {
            let last = &mut self.per_task[task as usize].last_params;
            match last {
                Some(shared) if **shared == *p => shared.clone(),
                _ => last.insert(Arc::new(p.clone())).clone(),
            }
        });
        let Some(slot) = self.rows.insert(e, task, executor, params, flags)? else {
            return Err(StoreError::Conflict(format!("execution {} already exists", e.id)));
        };
        if e.status.is_final() {
            self.count_final(slot);
        }
        let ix = Indexed::of(slot, self.rows.get(slot));
        self.by_time.insert((ix.scheduled, slot));
        self.per_task[task as usize].executions.insert((ix.scheduled, slot));
        self.reindex(None, Some(&ix));
        Ok(slot)
    }

    /// Adds a final execution to its hour's counters.
    fn count_final(&mut self, slot: Slot) {
        let row = self.rows.get(slot);
        let hour = row.scheduled - row.scheduled.rem_euclid(NANOS_PER_HOUR);
        let (status, start_end) = (row.status, row.start_end());
        if let Some(t) = self.per_task.get_mut(row.task as usize) {
            t.hours.at(hour).add_final_nanos(status, start_end);
        }
    }

    /// Deletes an execution and its index entries (retention); the hourly
    /// counters keep counting it.
    pub(super) fn remove_execution(&mut self, slot: Slot) {
        let ix = Indexed::of(slot, self.rows.get(slot));
        self.by_time.remove(&(ix.scheduled, slot));
        self.per_task[ix.task as usize].executions.remove(&(ix.scheduled, slot));
        self.reindex(Some(&ix), None);
        self.rows.remove(slot);
    }

    /// Takes an executor off every execution that names it.
    pub(super) fn forget_executor(&mut self, id: &ExecutorId) {
        let Some(x) = self.executor_slots.get(id) else { return };
        let entries = self.by_executor.remove(&x).unwrap_or_default();
        for &(_, slot) in entries.iter() {
            let before = Indexed::of(slot, self.rows.get(slot));
            self.rows.set_executor(slot, NO_SLOT);
            let after = Indexed::of(slot, self.rows.get(slot));
            self.reindex(Some(&before), Some(&after));
        }
        self.running_by_executor.remove(&x);
    }

    /// The executors that may take a dispatch, ordered by id, each shared.
    pub(super) fn available(&self) -> Vec<Arc<Executor>> {
        self.executors
            .values()
            .filter(|e| e.is_available())
            .map(|e| Arc::new(e.clone()))
            .collect()
    }

    /// The assignments of a task (empty when it has none).
    pub(super) fn assignments_of(&self, task_id: &TaskId) -> &[TaskExecutor] {
        self.assignments.get(task_id).map_or(&[], Vec::as_slice)
    }

    /// Claims one fire; `next_run_time`, when given, is written too.
    pub(super) fn claim(&mut self, e: &Execution, next_run_time: Option<Option<DateTime<Utc>>>) -> StoreResult<Slot> {
        let task = self.existing_task_slot(&e.task_id)?;
        let at = nanos(e.scheduled_time)?;
        let executions = &self.per_task[task as usize].executions;
        // Usually later than every execution of the task: nothing to look at.
        let taken = executions.last().is_some_and(|(t, _)| *t >= at)
            && executions
                .range((at, 0)..=(at, Slot::MAX))
                .any(|(_, s)| self.rows.get(*s).flags & CLAIMED != 0);
        if taken {
            return Err(StoreError::AlreadyFired {
                task_id: e.task_id.clone(),
                scheduled_time: e.scheduled_time,
            });
        }
        let slot = self.insert_in(task, e, CLAIMED)?;
        if let Some(next) = next_run_time
            && let Some(t) = self.tasks.get_mut(&e.task_id)
            && t.status == TaskStatus::Active
        {
            t.next_run_time = next;
        }
        Ok(slot)
    }

    /// One compare-and-set on an execution, in place: the guard is checked
    /// and the change applied on the stored row, which is never decoded.
    pub(super) fn update(
        &mut self,
        id: &ExecutionId,
        guard: &ExecutionGuard,
        change: &ExecutionChange,
    ) -> StoreResult<Slot> {
        let Some(slot) = self.rows.find(id) else {
            return Err(StoreError::execution_not_found(id));
        };
        let before = Indexed::of(slot, self.rows.get(slot));
        let (status, retry_count) = (before.status, self.rows.get(slot).retry_count());
        if !guard.matches_parts(status, retry_count, before.dispatched) {
            return Err(StoreError::Conflict(format!(
                "execution {id} is {} (attempt {retry_count})",
                status.as_str(),
            )));
        }
        let executor = change.executor_id.as_ref().map(|x| self.executor_slot(x.as_ref()));
        self.rows.apply(slot, change, executor, self.max_log_bytes)?;
        if self.rows.get(slot).status.is_final() {
            self.count_final(slot);
        }
        let after = Indexed::of(slot, self.rows.get(slot));
        self.reindex(Some(&before), Some(&after));
        Ok(slot)
    }

    /// Up to `limit` executions of a time index, oldest first, up to `now`.
    pub(super) fn due_in(&self, index: &TimeIndex, now: DateTime<Utc>, limit: u32) -> Vec<Execution> {
        let now = super::rows::nanos_clamped(now);
        ordered(&self.rows, index.range(..=(now, Slot::MAX)), false)
            .take(limit as usize)
            .map(|s| self.execution(s))
            .collect()
    }

    /// The newest scheduled fire of a task.
    pub(super) fn last_fire(&self, task: &TaskId) -> Option<DateTime<Utc>> {
        let slot = self.task_slots.get(task)?;
        self.per_task[slot as usize]
            .executions
            .iter()
            .rev()
            .find(|(_, s)| self.rows.get(*s).trigger == TriggerType::Schedule)
            .map(|(t, _)| time(*t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(hours: &Hours) -> Vec<(i64, u64)> {
        hours.range(i64::MIN, i64::MAX).map(|(h, c)| (h, c.total)).collect()
    }

    #[test]
    fn hours_count_in_any_order_and_purge_by_hour() {
        let mut hours = Hours::default();
        for h in [5, 5, 7, 3, 7, 6, 9, 3] {
            hours.at(h).total += 1;
        }
        assert_eq!(counted(&hours), [(3, 2), (5, 2), (6, 1), (7, 2), (9, 1)]);
        assert_eq!(hours.range(5, 7).map(|(h, _)| h).collect::<Vec<_>>(), [5, 6, 7]);
        assert_eq!(hours.range(8, 9).map(|(h, _)| h).collect::<Vec<_>>(), [9]);
        assert_eq!(hours.purge_before(6), 2);
        assert_eq!(counted(&hours), [(6, 1), (7, 2), (9, 1)]);
        assert_eq!(hours.purge_before(10), 3);
        assert!(counted(&hours).is_empty());
        hours.at(4).total += 1;
        assert_eq!(counted(&hours), [(4, 1)]);
    }
}
