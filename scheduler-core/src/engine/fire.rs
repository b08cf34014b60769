//! The instant of a fire: plans of one instant → claims (ahead of the
//! instant for modes that do not look at the task's activity, in blocks) →
//! starts at the instant.

use super::attempt::{Answer, Attempt, chrono_of, note_fire_lag};
use super::timer::{FireKind, FirePlan, TimerMsg};
use super::{Inner, metrics};
use crate::domain::*;
use crate::mode::{FireDecision, ModeContext};
use crate::store::ClaimOutcome;
use crate::store::StoreError;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// An instant with at least this many prepared fires is large: it waits out
/// its last moments on the clock and is started from every worker thread.
const LARGE_INSTANT: usize = 1024;

/// Fires per block of prepared attempts: a worker takes one at a time from
/// a large instant's shared list.
const BLOCK: usize = 64;

/// How early a large instant (see [`LARGE_INSTANT`]) wakes to wait out the rest
/// on the clock.
const PRECISE_WAIT: std::time::Duration = std::time::Duration::from_millis(2);

/// Fires claimed in one store call.
const CLAIM_BLOCK: usize = 500;

/// The `trigger` label of a claimed fire.
fn fire_label(plan: &FirePlan) -> &'static str {
    if plan.kind == FireKind::Misfire {
        "misfire"
    } else {
        "schedule"
    }
}

/// Fires the timer counted in flight, given back when dropped.
struct InFlight<'a> {
    inner: &'a Inner,
    n: usize,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let left = self.inner.fires_in_flight.fetch_sub(self.n, Ordering::AcqRel) - self.n;
        metrics::fire_backlog(left);
        self.inner.fires_done.notify_one();
    }
}

use ExecutionStatus::{Cancelled, Pending, Skipped};

/// An instant's prepared attempts, in blocks of at most [`BLOCK`], in
/// order: they are made, checked, started and answered block by block, never
/// copied into one instant-sized vector (megabytes at 10 000 fires).
type Blocks = Vec<Vec<Attempt>>;

fn attempts(blocks: &Blocks) -> usize {
    blocks.iter().map(Vec::len).sum()
}

/// Adds `a` to the last block, or to a new one when that is full.
fn push_in_blocks(blocks: &mut Blocks, a: Attempt) {
    match blocks.last_mut() {
        Some(last) if last.len() < BLOCK => last.push(a),
        _ => {
            let mut block = Vec::with_capacity(BLOCK);
            block.push(a);
            blocks.push(block);
        }
    }
}

impl Inner {
    /// Fires a group of plans that share one instant.
    pub(crate) async fn fire_group(self: Arc<Self>, instant: DateTime<Utc>, plans: Vec<FirePlan>) {
        // The timer counted these fires in flight; they leave when this ends.
        let _in_flight = InFlight {
            inner: &self,
            n: plans.len(),
        };
        let prepared_at = self.now();
        let mut ahead_plans = Vec::with_capacity(plans.len());
        let mut deferred = Vec::new();
        for plan in plans {
            if let Some((first, last)) = plan.missed {
                self.emit_misfire(&plan.task, first, last, plan.kind == FireKind::Misfire);
            }
            if plan.kind == FireKind::SkipMissed {
                metrics::dropped("misfire_skip");
                if let Err(e) = self.store.set_next_run_time(&plan.task.id, plan.next_run_time).await {
                    tracing::warn!(task_id = %plan.task.id, error = %e, "cannot save next_run_time");
                }
                continue;
            }
            let mode = self.modes.get(plan.task.execution_mode.as_str());
            let ahead = mode.is_some_and(|m| !m.depends_on_activity());
            if ahead {
                ahead_plans.push(plan);
            } else {
                deferred.push(plan);
            }
        }
        // The decision cannot change before the instant: claim now and record
        // the attempts, so the instant only costs the dispatch.
        let prepared = self.prepare_ahead(ahead_plans, instant).await;
        // A large instant wakes a little early and waits out the rest on the
        // clock itself (`until_instant`): the timer's millisecond ticks
        // would start it 1 to 2 ms late.
        let large = attempts(&prepared) >= LARGE_INSTANT;
        let wake = if large {
            instant - chrono_of(PRECISE_WAIT)
        } else {
            instant
        };
        tokio::select! {
            _ = self.shutdown.cancelled() => {}
            _ = self.clock.sleep_until(wake) => {}
        }
        // Lost leadership, or shutting down (`is_leader` is false then):
        // nothing is sent early; the attempts go back to pending, due at
        // their instant.
        if !self.is_leader() {
            self.unprepare_all(prepared.into_iter().flatten()).await;
            return;
        }
        let mut prepared = self.drop_changed(prepared, prepared_at).await;
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        if workers > 1 && large {
            // A large instant is started from every worker thread at once:
            // one task per worker takes blocks of fires from a shared list
            // until none is left, so a worker that joins late (or is slowed)
            // leaves its share to the others. Each is a task of its own: a
            // task spawned alone waits in this worker's LIFO slot, which no
            // other worker can take from; the next spawn moves it to the
            // shared queue and wakes an idle worker.
            // Popped from the end: the first prepared go first.
            prepared.reverse();
            let blocks = Arc::new(std::sync::Mutex::new(prepared));
            for _ in 0..workers {
                let (me, blocks) = (self.clone(), blocks.clone());
                self.spawn(async move {
                    if me.until_instant(instant).await {
                        me.start_shared(&blocks).await
                    } else {
                        let left = std::mem::take(&mut *blocks.lock().unwrap_or_else(|p| p.into_inner()));
                        me.unprepare_all(left.into_iter().flatten()).await;
                    }
                });
            }
        } else {
            if large && !self.until_instant(instant).await {
                self.unprepare_all(prepared.into_iter().flatten()).await;
                return;
            }
            self.clone().send_all(prepared).await;
        }
        if !deferred.is_empty() && self.now() < instant {
            // Woken early for the large part; the others never fire early.
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = self.clock.sleep_until(instant) => {}
            }
        }
        for plan in deferred {
            let me = self.clone();
            self.spawn(async move { me.fire_now(plan).await });
        }
    }

    /// Waits for a large instant that is at most [`PRECISE_WAIT`] away by
    /// reading the clock between other tasks' turns, so its part starts
    /// within microseconds of the instant instead of on the timer's next
    /// millisecond tick (1 to 2 ms late): at most this much of a worker's
    /// time per large instant, which is about to keep every worker busy
    /// anyway. After twice that much real time (a paused test clock does not
    /// move while tasks are busy) it sleeps like any other wait. False when
    /// shutdown came first.
    pub(super) async fn until_instant(&self, instant: DateTime<Utc>) -> bool {
        let started = std::time::Instant::now();
        while self.now() < instant {
            if self.shutdown.is_cancelled() {
                return false;
            }
            if started.elapsed() > 2 * PRECISE_WAIT {
                return tokio::select! {
                    _ = self.shutdown.cancelled() => false,
                    _ = self.clock.sleep_until(instant) => true,
                };
            }
            tokio::task::yield_now().await;
        }
        true
    }

    /// Starts blocks of prepared attempts taken from `blocks` until none is
    /// left, then sends the rest and records the answers.
    pub(super) async fn start_shared(self: Arc<Self>, blocks: &std::sync::Mutex<Vec<Vec<Attempt>>>) {
        let mut taken = Vec::new();
        loop {
            let next = blocks.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let Some(mut block) = next else { break };
            self.start_ready(&mut block);
            taken.push(block);
        }
        self.send_rest(taken).await;
    }

    /// Sends prepared attempts, then records the answers: the instant costs
    /// only the sends.
    async fn send_all(self: Arc<Self>, mut prepared: Blocks) {
        for block in &mut prepared {
            self.start_ready(block);
        }
        self.send_rest(prepared).await;
    }

    /// Sends the attempts not started yet from tasks of their own, then
    /// records the answers of those that were (blocks as they were started,
    /// not copied into one vector).
    pub(super) async fn send_rest(self: Arc<Self>, mut blocks: Blocks) {
        for block in &mut blocks {
            for a in block.extract_if(.., |a| a.answer.is_none() && !a.stopped) {
                let me = self.clone();
                self.spawn(async move { me.run_attempt(a).await });
            }
        }
        // In-process handlers that wait, just spawned on this worker, start
        // before the bookkeeping below.
        tokio::task::yield_now().await;
        // Successes are queued in groups; other answers one by one.
        let answered: usize = blocks.iter().map(Vec::len).sum();
        let mut succeeded = Vec::with_capacity(answered.min(super::writer::GROUP));
        let mut finished = 0;
        for mut a in blocks.into_iter().flatten() {
            if let Some(answer) = a.answer.take() {
                let (outcome, sent_at) = *answer;
                note_fire_lag(&a.execution, sent_at);
                match self.success_write(a, outcome, sent_at) {
                    Answer::Write(update) => {
                        finished += 1;
                        self.add_to_group(&mut succeeded, update, Some(ExecutionStatus::Success))
                            .await
                    }
                    Answer::Settle(a, outcome) => self.settle(a, outcome, sent_at).await,
                }
            }
        }
        self.write_group_later(succeeded).await;
        metrics::dispatch_n("finished", finished);
    }

    /// Starts every attempt the dispatcher readied, in place, and keeps each
    /// answer with about when it was sent. Nothing else happens here: the
    /// instant's work is only the starts.
    pub(super) fn start_ready(&self, prepared: &mut [Attempt]) {
        // The clock is read once per few starts: the fire-lag buckets are far
        // coarser than the time a few starts take.
        let mut now = self.now();
        for (i, a) in prepared.iter_mut().enumerate() {
            if self.book.stopped_before_sent(&a.execution.id) {
                tracing::info!(execution_id = %a.execution.id, "stopped before its instant: not sent");
                a.stopped = true;
                continue;
            }
            if let Some(ready) = a.ready.as_mut() {
                let outcome = ready.start();
                if i % 16 == 15 {
                    now = self.now();
                }
                a.answer = Some(Box::new((outcome, now)));
            }
        }
    }

    /// Fires prepared ahead of their instant whose task this instance paused,
    /// deleted or rescheduled in the meantime do not go: they are cancelled
    /// with a log line saying why.
    async fn drop_changed(&self, prepared: Blocks, since: DateTime<Utc>) -> Blocks {
        let changed = self
            .book
            .changed_since(since, prepared.iter().flatten().map(|a| &a.task.id));
        if changed.is_empty() {
            return prepared;
        }
        let mut keep = Blocks::with_capacity(prepared.len());
        for a in prepared.into_iter().flatten() {
            if !changed.contains(&a.task.id) {
                push_in_blocks(&mut keep, a);
                continue;
            }
            let still_due = match self.store.get_task(&a.task.id).await {
                Ok(t) => {
                    t.status == TaskStatus::Active
                        && t.cron_expression == a.task.cron_expression
                        && t.timezone == a.task.timezone
                }
                Err(_) => false,
            };
            if still_due {
                push_in_blocks(&mut keep, a);
                continue;
            }
            let (guard, change) = transition::cancelled_before_instant(a.execution.retry_count, self.now());
            if self
                .store
                .update_execution(&a.execution.id, &guard, &change)
                .await
                .is_ok()
            {
                metrics::finished(Cancelled);
            }
        }
        keep
    }

    /// Claims the fires of one instant ahead of it, in blocks claimed
    /// concurrently, each with its first attempt recorded: the executors are
    /// picked first (candidates read once for all the tasks), so each block
    /// is one store call. A fire with no candidate, or whose pick failed, is
    /// claimed alone and its attempt follows the usual rules.
    async fn prepare_ahead(&self, plans: Vec<FirePlan>, instant: DateTime<Utc>) -> Blocks {
        if plans.is_empty() {
            return Vec::new();
        }
        let ids: Vec<TaskId> = plans.iter().map(|p| p.task.id.clone()).collect();
        let candidates = match self.store.dispatch_candidates_of(&ids).await {
            Ok(c) if c.len() == ids.len() => c,
            Ok(c) => {
                tracing::warn!(
                    tasks = ids.len(),
                    answered = c.len(),
                    "the store answered candidates for other tasks than asked; each fire picks its executor after its claim"
                );
                Vec::new()
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read dispatch candidates; each fire picks its executor after its claim");
                Vec::new()
            }
        };
        let mut candidates = candidates.into_iter();
        let mut blocks = Vec::with_capacity(plans.len().div_ceil(CLAIM_BLOCK));
        let mut plans = plans.into_iter().peekable();
        while plans.peek().is_some() {
            let mut block = Vec::with_capacity(CLAIM_BLOCK);
            for plan in plans.by_ref().take(CLAIM_BLOCK) {
                let picked = match candidates.next() {
                    Some(c) => self.pick_among(&plan.task, &c, None).await.ok().flatten(),
                    None => None,
                };
                block.push((plan, picked));
            }
            blocks.push(self.claim_block(block, instant));
        }
        futures::future::join_all(blocks).await.into_iter().flatten().collect()
    }

    /// Claims one block of fires in one store call and readies their dispatch.
    async fn claim_block(&self, block: Vec<(FirePlan, Option<Arc<Executor>>)>, instant: DateTime<Utc>) -> Blocks {
        // One clock read for the block: its rows are made within microseconds.
        let now = self.now();
        let execs: Vec<Execution> = block
            .iter()
            .map(|(plan, picked)| {
                let mut exec = self.fire_execution(plan, Pending, now);
                if let Some(executor) = picked {
                    let (_, attempt) = self.attempt_record(0, executor, &plan.task, instant);
                    attempt.apply_to(&mut exec);
                }
                exec
            })
            .collect();
        let outcomes = match self.store.claim_fires(&execs).await {
            Ok(o) => o,
            Err(e) => {
                // Any of them may have gone in, with an attempt recorded that
                // was never sent: hand those back once the store answers.
                metrics::dropped_n("store_error", execs.len() as u64);
                tracing::warn!(fires = execs.len(), %instant, error = %e, "cannot claim fires; will reload from the store");
                self.book.note_unsent(
                    execs
                        .iter()
                        .filter(|e| e.dispatched_at.is_some())
                        .map(|e| (e.id.clone(), e.retry_count)),
                );
                let _ = self.timer_tx.send(TimerMsg::Reload);
                return Vec::new();
            }
        };
        let mut out = Blocks::with_capacity(execs.len().div_ceil(BLOCK));
        let mut claimed = metrics::Tally::new();
        for (((plan, picked), exec), outcome) in block.into_iter().zip(execs).zip(outcomes) {
            match outcome {
                ClaimOutcome::Claimed => {
                    claimed.add(fire_label(&plan));
                    let attempt = match picked {
                        Some(executor) => Some(Attempt::new(exec, plan.task.clone(), executor)),
                        None => self.begin_attempt(exec, plan.task.clone(), instant).await,
                    };
                    if let Some(mut a) = attempt {
                        match self.dispatcher.prepare(&a.executor, self.request_for(&a)) {
                            Ok(ready) => a.ready = Some(ready),
                            Err(request) => a.request = Some(Box::new(request)),
                        }
                        push_in_blocks(&mut out, a);
                    }
                }
                ClaimOutcome::AlreadyFired => {
                    metrics::dropped("already_fired");
                    tracing::debug!(task_id = %plan.task.id, scheduled_time = %plan.instant, "fire already claimed elsewhere");
                }
                ClaimOutcome::TaskNotFound => {
                    metrics::dropped("task_gone");
                    tracing::debug!(task_id = %plan.task.id, "fire of a task that is gone");
                }
            }
        }
        claimed.record(metrics::fire_n);
        out
    }

    /// The execution row of a fire, in `status`, made at `now`, with nothing
    /// dispatched.
    fn fire_execution(&self, plan: &FirePlan, status: ExecutionStatus, now: DateTime<Utc>) -> Execution {
        let params = plan.task.parameters.clone().map(serde_json::Value::Object);
        let mut exec = Execution::new_pending(plan.task.id.clone(), TriggerType::Schedule, plan.instant, params, now);
        exec.status = status;
        if status == Skipped {
            exec.end_time = Some(now);
            exec.logs = Some("skipped: an execution of this task is still running".to_owned());
        } else {
            // Not dispatched by the due sweep before its instant.
            exec.next_attempt_at = Some(plan.instant);
        }
        if plan.kind == FireKind::Misfire {
            let line = format!("misfire: fired late at {now} for the latest missed instant");
            exec.logs = Some(match exec.logs.take() {
                Some(l) => format!("{l}\n{line}"),
                None => line,
            });
        }
        exec
    }

    /// Inserts the fire's execution row, unique per (task, instant), for a
    /// fire decided at its instant.
    pub(super) async fn claim(&self, plan: &FirePlan, status: ExecutionStatus) -> Option<Execution> {
        let exec = self.fire_execution(plan, status, self.now());
        match self.store.claim_fire(&exec, plan.next_run_time).await {
            Ok(e) => {
                metrics::fire(fire_label(plan));
                if status == Skipped {
                    metrics::finished(Skipped);
                }
                tracing::debug!(task_id = %plan.task.id, execution_id = %e.id, scheduled_time = %plan.instant, "fire claimed");
                Some(e)
            }
            Err(StoreError::AlreadyFired { .. }) => {
                metrics::dropped("already_fired");
                tracing::debug!(task_id = %plan.task.id, scheduled_time = %plan.instant, "fire already claimed elsewhere");
                None
            }
            Err(e) => {
                metrics::dropped("store_error");
                tracing::warn!(task_id = %plan.task.id, scheduled_time = %plan.instant, error = %e, "cannot claim fire; will reload from the store");
                let _ = self.timer_tx.send(TimerMsg::Reload);
                None
            }
        }
    }

    /// A fire whose mode looks at the task's activity: decided at the instant.
    pub(super) async fn fire_now(self: Arc<Self>, plan: FirePlan) {
        let decision = match self.modes.get(plan.task.execution_mode.as_str()) {
            Some(mode) => mode.decide(&ModeContext::new(&plan.task, self.store.as_ref())).await,
            None => {
                tracing::error!(task_id = %plan.task.id, mode = %plan.task.execution_mode, "unknown execution mode; firing as parallel");
                Ok(FireDecision::Dispatch)
            }
        };
        match decision {
            Ok(FireDecision::Drop) => {
                metrics::dropped("sequential");
                tracing::info!(task_id = %plan.task.id, scheduled_time = %plan.instant, "fire not dispatched: previous execution not finished");
                if let Err(e) = self.store.set_next_run_time(&plan.task.id, plan.next_run_time).await {
                    tracing::warn!(task_id = %plan.task.id, error = %e, "cannot save next_run_time");
                }
            }
            Ok(FireDecision::RecordSkipped) => {
                self.claim(&plan, Skipped).await;
            }
            Ok(FireDecision::Dispatch) => {
                if let Some(exec) = self.claim(&plan, Pending).await {
                    let now = self.now();
                    if let Some(a) = self.begin_attempt(exec, plan.task.clone(), now).await {
                        self.run_attempt(a).await;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(task_id = %plan.task.id, error = %e, "cannot decide fire; will reload from the store");
                let _ = self.timer_tx.send(TimerMsg::Reload);
            }
        }
    }
}
