//! The memory store's state: the rows and the secondary indexes that keep
//! the engine's hot queries independent of how many executions are stored.
//! One mutex in [`MemoryStore`](super::MemoryStore) guards all of it.

use crate::domain::*;
use crate::store::*;
use chrono::{DateTime, Utc};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::hash_map;
use std::collections::{BTreeMap, BTreeSet};

pub(super) type TimeKey<Id> = (DateTime<Utc>, Id);

#[derive(Debug)]
pub(super) struct State {
    pub(super) tasks: HashMap<TaskId, Task>,
    pub(super) tasks_by_created: BTreeSet<TimeKey<TaskId>>,
    pub(super) tasks_by_updated: BTreeSet<TimeKey<TaskId>>,
    pub(super) live_names: HashMap<String, TaskId>,
    pub(super) assignments: HashMap<TaskId, Vec<TaskExecutor>>,

    pub(super) executors: BTreeMap<ExecutorId, Executor>,
    pub(super) instance_ids: HashMap<String, ExecutorId>,

    /// Boxed: a growing table moves pointers, not executions.
    pub(super) executions: HashMap<ExecutionId, Box<Execution>>,
    pub(super) fires: HashSet<(TaskId, DateTime<Utc>)>,
    pub(super) by_time: BTreeSet<TimeKey<ExecutionId>>,
    pub(super) by_task: HashMap<TaskId, BTreeSet<TimeKey<ExecutionId>>>,
    /// Ordered: ids are time-ordered, so inserts append (a hash set this
    /// large would rehash every id as it grows).
    pub(super) by_executor: HashMap<ExecutorId, BTreeSet<ExecutionId>>,
    pub(super) due: BTreeSet<TimeKey<ExecutionId>>,
    pub(super) unanswered: BTreeSet<ExecutionId>,
    pub(super) deadlines: BTreeSet<TimeKey<ExecutionId>>,
    pub(super) activity: HashMap<TaskId, TaskActivity>,
    pub(super) running_by_executor: HashMap<ExecutorId, u64>,
    pub(super) pending: u64,
    pub(super) running: u64,

    /// Counters of final executions per task and UTC hour of `scheduled_time`.
    pub(super) hourly: HashMap<TaskId, BTreeMap<DateTime<Utc>, StatusCounts>>,
    /// `history.max_log_bytes`.
    pub(super) max_log_bytes: usize,

    pub(super) lb: HashMap<(TaskId, String), LbState>,
    pub(super) instances: BTreeMap<String, SchedulerInstance>,
}

/// The fields of an execution the indexes depend on.
pub(super) struct Indexed {
    id: ExecutionId,
    task_id: TaskId,
    status: ExecutionStatus,
    executor_id: Option<ExecutorId>,
    created_at: DateTime<Utc>,
    dispatched_at: Option<DateTime<Utc>>,
    next_attempt_at: Option<DateTime<Utc>>,
    timeout_at: Option<DateTime<Utc>>,
}

impl Indexed {
    pub(super) fn of(e: &Execution) -> Self {
        Self {
            id: e.id.clone(),
            task_id: e.task_id.clone(),
            status: e.status,
            executor_id: e.executor_id.clone(),
            created_at: e.created_at,
            dispatched_at: e.dispatched_at,
            next_attempt_at: e.next_attempt_at,
            timeout_at: e.timeout_at,
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
            executions: HashMap::default(),
            fires: HashSet::default(),
            by_time: BTreeSet::new(),
            by_task: HashMap::default(),
            by_executor: HashMap::default(),
            due: BTreeSet::new(),
            unanswered: BTreeSet::new(),
            deadlines: BTreeSet::new(),
            activity: HashMap::default(),
            running_by_executor: HashMap::default(),
            pending: 0,
            running: 0,
            hourly: HashMap::default(),
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

    /// Moves an execution's entries in the indexes that depend on mutable
    /// fields from what `old` needs to what `new` needs, touching only the
    /// indexes whose key changed. `None` means "not stored".
    pub(super) fn reindex(&mut self, old: Option<&Indexed>, new: Option<&Indexed>) {
        let id = match (old, new) {
            (Some(e), _) | (None, Some(e)) => e.id.clone(),
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
        let executor = |e: Option<&Indexed>| e.and_then(|e| e.executor_id.clone());
        let (xo, xn) = (executor(old), executor(new));
        if xo != xn {
            if let Some(x) = &xo
                && let Some(set) = self.by_executor.get_mut(x)
            {
                set.remove(&id);
            }
            if let Some(x) = xn {
                self.by_executor.entry(x).or_default().insert(id.clone());
            }
        }
        // Running executions by executor (least_loaded).
        let running_on = |e: Option<&Indexed>| {
            e.filter(|e| e.status == ExecutionStatus::Running)
                .and_then(|e| e.executor_id.clone())
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
            e.filter(|e| e.status == ExecutionStatus::Pending && e.dispatched_at.is_none())
                .map(|e| e.next_attempt_at.unwrap_or(e.created_at))
        };
        let (d_old, d_new) = (due(old), due(new));
        if d_old != d_new {
            if let Some(t) = d_old {
                self.due.remove(&(t, id.clone()));
            }
            if let Some(t) = d_new {
                self.due.insert((t, id.clone()));
            }
        }
        let unanswered =
            |e: Option<&Indexed>| e.is_some_and(|e| e.status == ExecutionStatus::Pending && e.dispatched_at.is_some());
        let (u_old, u_new) = (unanswered(old), unanswered(new));
        if u_old != u_new {
            if u_new {
                self.unanswered.insert(id.clone());
            } else {
                self.unanswered.remove(&id);
            }
        }
        let deadline = |e: Option<&Indexed>| e.filter(|e| !e.status.is_final()).and_then(|e| e.timeout_at);
        let (t_old, t_new) = (deadline(old), deadline(new));
        if t_old != t_new {
            if let Some(t) = t_old {
                self.deadlines.remove(&(t, id.clone()));
            }
            if let Some(t) = t_new {
                self.deadlines.insert((t, id));
            }
        }
    }

    pub(super) fn count(&mut self, e: &Indexed, add: bool) {
        let bump = |n: &mut u64| {
            if add {
                *n += 1;
            } else {
                *n = n.saturating_sub(1);
            }
        };
        match e.status {
            ExecutionStatus::Pending => {
                bump(&mut self.pending);
                bump(&mut self.activity.entry(e.task_id.clone()).or_default().pending);
            }
            ExecutionStatus::Running => {
                bump(&mut self.running);
                bump(&mut self.activity.entry(e.task_id.clone()).or_default().running);
            }
            _ => {}
        }
    }

    pub(super) fn insert_execution(&mut self, e: &Execution) -> StoreResult<Execution> {
        if !self.tasks.contains_key(&e.task_id) {
            return Err(StoreError::task_not_found(&e.task_id));
        }
        let mut stored = e.clone();
        if let Some(logs) = &e.logs {
            stored.logs = Some(logs::bounded(logs, self.max_log_bytes));
        }
        match self.executions.entry(e.id.clone()) {
            hash_map::Entry::Occupied(_) => {
                return Err(StoreError::Conflict(format!("execution {} already exists", e.id)));
            }
            hash_map::Entry::Vacant(slot) => {
                slot.insert(Box::new(stored.clone()));
            }
        }
        if e.status.is_final() {
            self.count_final(&stored);
        }
        let key = (e.scheduled_time, e.id.clone());
        self.by_time.insert(key.clone());
        self.by_task.entry(e.task_id.clone()).or_default().insert(key);
        self.reindex(None, Some(&Indexed::of(e)));
        Ok(stored)
    }

    /// Adds a final execution to its hour's counters.
    fn count_final(&mut self, e: &Execution) {
        let hour = crate::engine::hour_of(e.scheduled_time);
        self.hourly
            .entry(e.task_id.clone())
            .or_default()
            .entry(hour)
            .or_default()
            .add_final(e);
    }

    /// Deletes an execution and its index entries (retention); the hourly
    /// counters keep counting it.
    pub(super) fn remove_execution(&mut self, id: &ExecutionId) {
        let Some(e) = self.executions.remove(id) else { return };
        let key = (e.scheduled_time, e.id.clone());
        self.by_time.remove(&key);
        if let Some(ix) = self.by_task.get_mut(&e.task_id) {
            ix.remove(&key);
            if ix.is_empty() {
                self.by_task.remove(&e.task_id);
            }
        }
        if e.trigger_type == TriggerType::Schedule {
            self.fires.remove(&(e.task_id.clone(), e.scheduled_time));
        }
        self.reindex(Some(&Indexed::of(&e)), None);
        if let Some(x) = &e.executor_id
            && self.by_executor.get(x).is_some_and(BTreeSet::is_empty)
        {
            self.by_executor.remove(x);
        }
    }

    /// The dispatch candidates of one task (see `Store::dispatch_candidates`).
    pub(super) fn candidates(&self, task_id: &TaskId) -> Vec<Candidate> {
        let assigned = self.assignments.get(task_id).filter(|l| !l.is_empty());
        match assigned {
            Some(list) => {
                let mut v: Vec<Candidate> = list
                    .iter()
                    .filter_map(|a| {
                        let e = self.executors.get(&a.executor_id)?;
                        e.is_available().then(|| Candidate {
                            executor: e.clone(),
                            weight: a.weight,
                            priority: a.priority,
                        })
                    })
                    .collect();
                v.sort_by(|a, b| a.executor.id.cmp(&b.executor.id));
                v
            }
            None => self
                .executors
                .values()
                .filter(|e| e.is_available())
                .map(|e| Candidate {
                    executor: e.clone(),
                    weight: 1,
                    priority: 0,
                })
                .collect(),
        }
    }

    /// Claims one fire; `next_run_time`, when given, is written too.
    pub(super) fn claim(
        &mut self,
        e: &Execution,
        next_run_time: Option<Option<DateTime<Utc>>>,
    ) -> StoreResult<Execution> {
        let key = (e.task_id.clone(), e.scheduled_time);
        if self.fires.contains(&key) {
            return Err(StoreError::AlreadyFired {
                task_id: e.task_id.clone(),
                scheduled_time: e.scheduled_time,
            });
        }
        let stored = self.insert_execution(e)?;
        self.fires.insert(key);
        if let Some(next) = next_run_time
            && let Some(t) = self.tasks.get_mut(&e.task_id)
            && t.status == TaskStatus::Active
        {
            t.next_run_time = next;
        }
        Ok(stored)
    }

    /// One compare-and-set on an execution, in place.
    pub(super) fn update(
        &mut self,
        id: &ExecutionId,
        guard: &ExecutionGuard,
        change: &ExecutionChange,
    ) -> StoreResult<&Execution> {
        let Some(current) = self.executions.get_mut(id) else {
            return Err(StoreError::execution_not_found(id));
        };
        if !guard.matches(current) {
            return Err(StoreError::Conflict(format!(
                "execution {id} is {} (attempt {})",
                current.status.as_str(),
                current.retry_count
            )));
        }
        let before = Indexed::of(current);
        change.apply_bounded(current, self.max_log_bytes);
        let after = Indexed::of(current);
        if after.status.is_final() {
            let done = Execution::clone(current);
            self.count_final(&done);
        }
        self.reindex(Some(&before), Some(&after));
        Ok(self
            .executions
            .get(id)
            .map(|e| &**e)
            .expect("updated just above, under the same lock"))
    }

    pub(super) fn ids_to_executions<'a>(
        &'a self,
        ids: impl Iterator<Item = &'a ExecutionId>,
        limit: u32,
    ) -> Vec<Execution> {
        ids.filter_map(|id| self.executions.get(id).map(|e| Execution::clone(e)))
            .take(limit as usize)
            .collect()
    }
}
