//! Fires, attempts, retries, reports and stops: the life of an execution.
//!
//! Retries (CONTRACT §2), with `retry_backoff` 1 s and `max_retry` 3:
//!
//! ```text
//! attempt 0 ──refused──▶ pending, retry_count 1 ──1 s──▶ attempt 1 ──timeout──▶ stop request,
//! pending, retry_count 2 ──2 s──▶ attempt 2 ──failed──▶ pending, retry_count 3 ──4 s──▶
//! attempt 3 ──failed──▶ failed (no retry left)
//! ```
//!
//! Every attempt is recorded (executor, `retry_count`, `dispatched_at`,
//! callback token) before its request is sent, with a compare-and-set that
//! only one dispatcher can win, so no executor ever receives the same
//! `(execution_id, retry_count)` twice.

use super::timer::{FireKind, FirePlan, TimerMsg};
use super::{Inner, SchedulerError, SchedulerResult, metrics};
use crate::balance::{BalanceContext, lowest_priority_tier};
use crate::dispatch::{DispatchOutcome, DispatchRequest, ExecutionReport, PreparedDispatch};
use crate::domain::*;
use crate::mode::{FireDecision, ModeContext};
use crate::store::StoreError;
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// An instant with at least this many prepared fires is large: it waits out
/// its last moments on the clock and is started from every worker thread.
const LARGE_INSTANT: usize = 1024;

/// How long a stop of a maybe-unsent attempt is remembered for the instant
/// that would send it (far longer than `fire_ahead`).
const STOPPED_EARLY_KEPT: Duration = Duration::seconds(60);

/// Fires a worker takes at a time from a large instant's shared list.
const BLOCK: usize = 64;

/// How early a large instant (see [`LARGE_INSTANT`]) wakes to wait out the rest
/// on the clock.
const PRECISE_WAIT: std::time::Duration = std::time::Duration::from_millis(2);

use ExecutionStatus::{Cancelled, Failed, Pending, Running, Skipped, Success, Timeout};

/// An attempt recorded in the store, ready to be sent.
///
/// Boxed parts: an instant moves thousands of these around.
pub(crate) struct Attempt {
    execution: Box<Execution>,
    task: Arc<Task>,
    executor: Box<Executor>,
    /// A fire prepared ahead of its instant: readied by a dispatcher that
    /// sends without waiting, or else the request to send.
    ready: Option<Box<dyn PreparedDispatch>>,
    request: Option<DispatchRequest>,
    /// The answer of a started `ready`, and about when it was sent.
    answer: Option<(DispatchOutcome, DateTime<Utc>)>,
    /// Stopped before its instant: not sent.
    stopped: bool,
}

fn chrono_of(d: std::time::Duration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::MAX)
}

fn new_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

impl Attempt {
    fn new(execution: Execution, task: Arc<Task>, executor: Executor) -> Self {
        Self {
            execution: Box::new(execution),
            task,
            executor: Box::new(executor),
            ready: None,
            request: None,
            answer: None,
            stopped: false,
        }
    }
}

/// Records the fire lag of a first attempt sent at `now`.
fn note_fire_lag(exec: &Execution, now: DateTime<Utc>) {
    if exec.retry_count == 0 {
        let lag = (now - exec.scheduled_time).num_microseconds().unwrap_or(0);
        metrics::fire_lag(lag.max(0) as f64 / 1e6);
    }
}

/// Compares secrets in time independent of where they differ.
fn tokens_match(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Inner {
    /// Fires a group of plans that share one instant.
    pub(crate) async fn fire_group(self: Arc<Self>, instant: DateTime<Utc>, plans: Vec<FirePlan>) {
        let prepared_at = self.now();
        let mut prepared = Vec::new();
        let mut deferred = Vec::new();
        for plan in plans {
            if plan.kind == FireKind::SkipMissed {
                if let Err(e) = self.store.set_next_run_time(&plan.task.id, plan.next_run_time).await {
                    tracing::warn!(task_id = %plan.task.id, error = %e, "cannot save next_run_time");
                }
                continue;
            }
            let mode = self.modes.get(plan.task.execution_mode.as_str());
            let ahead = mode.is_some_and(|m| !m.depends_on_activity());
            if ahead {
                // The decision cannot change before the instant: claim now and
                // record the attempt, so the instant only costs the dispatch.
                if let Some(a) = self.claim_and_prepare(&plan, instant).await {
                    prepared.push(a);
                }
            } else {
                deferred.push(plan);
            }
        }
        // A large instant wakes a little early and waits out the rest on the
        // clock itself (`until_instant`): the timer's millisecond ticks
        // would start it 1 to 2 ms late.
        let large = prepared.len() >= LARGE_INSTANT;
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
            self.unprepare_all(prepared).await;
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
            let mut blocks = Vec::with_capacity(prepared.len().div_ceil(BLOCK));
            while !prepared.is_empty() {
                blocks.push(prepared.split_off(prepared.len().saturating_sub(BLOCK)));
            }
            // Popped from the end: the first prepared go first.
            let blocks = Arc::new(std::sync::Mutex::new(blocks));
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
                self.unprepare_all(prepared).await;
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
    async fn until_instant(&self, instant: DateTime<Utc>) -> bool {
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
    async fn start_shared(self: Arc<Self>, blocks: &std::sync::Mutex<Vec<Vec<Attempt>>>) {
        let mut taken = Vec::new();
        loop {
            let next = blocks.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let Some(mut block) = next else { break };
            self.start_ready(&mut block);
            taken.push(block);
        }
        self.send_rest(taken.into_iter().flatten().collect()).await;
    }

    /// Sends prepared attempts, then records the answers: the instant costs
    /// only the sends.
    async fn send_all(self: Arc<Self>, mut prepared: Vec<Attempt>) {
        self.start_ready(&mut prepared);
        self.send_rest(prepared).await;
    }

    /// Sends the attempts not started yet from tasks of their own, then
    /// records the answers of those that were.
    async fn send_rest(self: Arc<Self>, mut prepared: Vec<Attempt>) {
        for a in prepared.extract_if(.., |a| a.answer.is_none() && !a.stopped) {
            let me = self.clone();
            self.spawn(async move { me.run_attempt(a).await });
        }
        // In-process handlers that wait, just spawned on this worker, start
        // before the bookkeeping below.
        tokio::task::yield_now().await;
        for mut a in prepared {
            if let Some((outcome, sent_at)) = a.answer.take() {
                note_fire_lag(&a.execution, sent_at);
                self.settle(a, outcome).await;
            }
        }
    }

    /// Starts every attempt the dispatcher readied, in place, and keeps each
    /// answer with about when it was sent. Nothing else happens here: the
    /// instant's work is only the starts.
    fn start_ready(&self, prepared: &mut [Attempt]) {
        // The clock is read once per few starts: the fire-lag buckets are far
        // coarser than the time a few starts take.
        let mut now = self.now();
        for (i, a) in prepared.iter_mut().enumerate() {
            if self.stopped_before_sent(&a.execution.id) {
                tracing::info!(execution_id = %a.execution.id, "stopped before its instant: not sent");
                a.stopped = true;
                continue;
            }
            if let Some(ready) = a.ready.as_mut() {
                let outcome = ready.start();
                if i % 16 == 15 {
                    now = self.now();
                }
                a.answer = Some((outcome, now));
            }
        }
    }

    /// Fires prepared ahead of their instant whose task this instance paused,
    /// deleted or rescheduled in the meantime do not go: they are cancelled
    /// with a log line saying why.
    async fn drop_changed(&self, prepared: Vec<Attempt>, since: DateTime<Utc>) -> Vec<Attempt> {
        let changed: Vec<TaskId> = {
            let mut recent = self.recent_changes.lock().unwrap_or_else(|p| p.into_inner());
            if recent.last.is_none_or(|last| last < since) {
                return prepared;
            }
            let horizon = since - Duration::seconds(60);
            recent.by_task.retain(|_, at| *at >= horizon);
            prepared
                .iter()
                .filter(|a| recent.by_task.get(&a.task.id).is_some_and(|at| *at >= since))
                .map(|a| a.task.id.clone())
                .collect()
        };
        if changed.is_empty() {
            return prepared;
        }
        let mut keep = Vec::with_capacity(prepared.len());
        for a in prepared {
            if !changed.contains(&a.task.id) {
                keep.push(a);
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
                keep.push(a);
                continue;
            }
            let change = ExecutionChange {
                status: Some(Cancelled),
                end_time: Some(Some(self.now())),
                timeout_at: Some(None),
                append_log: Some(
                    "cancelled before its instant: the task was paused, deleted or rescheduled".to_owned(),
                ),
                ..ExecutionChange::default()
            };
            let guard = ExecutionGuard::status_in(&[Pending]).attempt(a.execution.retry_count);
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

    /// Claims a fire and records its first attempt, dispatched at `instant`:
    /// the executor is picked first, so the claim records the attempt too
    /// (one write). With no candidate, or when picking fails, the claim goes
    /// alone and the attempt follows the usual rules.
    async fn claim_and_prepare(&self, plan: &FirePlan, instant: DateTime<Utc>) -> Option<Attempt> {
        let mut a = match self.pick(&plan.task, None).await {
            Ok(Some(executor)) => {
                let change = self.attempt_change(&executor, &plan.task, instant);
                let exec = self.claim(plan, Pending, Some(&change)).await?;
                Attempt::new(exec, plan.task.clone(), executor)
            }
            Ok(None) | Err(_) => {
                let exec = self.claim(plan, Pending, None).await?;
                self.begin_attempt(exec, plan.task.clone(), instant).await?
            }
        };
        match self.dispatcher.prepare(&a.executor, self.request_for(&a)) {
            Ok(ready) => a.ready = Some(ready),
            Err(request) => a.request = Some(request),
        }
        Some(a)
    }

    /// Inserts the fire's execution row, unique per (task, instant), with
    /// its first attempt already recorded when `attempt` is given.
    async fn claim(
        &self,
        plan: &FirePlan,
        status: ExecutionStatus,
        attempt: Option<&ExecutionChange>,
    ) -> Option<Execution> {
        let now = self.now();
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
        if let Some(change) = attempt {
            change.apply_to(&mut exec);
        }
        if plan.kind == FireKind::Misfire {
            let line = format!("misfire: fired late at {now} for the latest missed instant");
            exec.logs = Some(match exec.logs.take() {
                Some(l) => format!("{l}\n{line}"),
                None => line,
            });
        }
        match self.store.claim_fire(&exec, plan.next_run_time).await {
            Ok(e) => {
                metrics::fire(if plan.kind == FireKind::Misfire {
                    "misfire"
                } else {
                    "schedule"
                });
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
    async fn fire_now(self: Arc<Self>, plan: FirePlan) {
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
                self.claim(&plan, Skipped, None).await;
            }
            Ok(FireDecision::Dispatch) => {
                if let Some(exec) = self.claim(&plan, Pending, None).await {
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

    /// Dispatches a pending execution whose attempt has not been sent
    /// (manual triggers, retries, recovery).
    pub(crate) fn dispatch_pending(
        self: Arc<Self>,
        exec: Execution,
        task: Option<Arc<Task>>,
    ) -> futures::future::BoxFuture<'static, ()> {
        // Boxed with an explicit `Send`: a failed attempt schedules a retry
        // that comes back here, and the compiler cannot prove `Send` through
        // that cycle on its own.
        Box::pin(async move {
            if !self.is_leader() {
                return;
            }
            let task = match task {
                Some(t) => t,
                None => match self.store.get_task(&exec.task_id).await {
                    Ok(t) => Arc::new(t),
                    Err(e) => {
                        tracing::warn!(execution_id = %exec.id, error = %e, "cannot load the task of a pending execution");
                        return;
                    }
                },
            };
            let now = self.now();
            if let Some(a) = self.begin_attempt(exec, task, now).await {
                self.run_attempt(a).await;
            }
        })
    }

    /// Picks an executor and records the attempt. `None` when there is no
    /// candidate (the attempt failed and the retry rule ran), when another
    /// dispatcher won the race, or when the store failed.
    async fn begin_attempt(&self, exec: Execution, task: Arc<Task>, at: DateTime<Utc>) -> Option<Attempt> {
        let executor = match self.pick(&task, exec.executor_id.as_ref()).await {
            Ok(Some(x)) => x,
            Ok(None) => {
                let reason = format!(
                    "attempt {}: no candidate executor (none assigned is online and healthy)",
                    exec.retry_count
                );
                let _ = self.fail_attempt(&exec, Some(&task), &reason, Failed).await;
                return None;
            }
            Err(e) => {
                tracing::warn!(execution_id = %exec.id, error = %e, "cannot pick an executor; the sweep will retry");
                return None;
            }
        };
        let change = self.attempt_change(&executor, &task, at);
        let guard = ExecutionGuard::status_in(&[Pending])
            .attempt(exec.retry_count)
            .dispatched(false);
        match self.store.update_execution(&exec.id, &guard, &change).await {
            Ok(execution) => Some(Attempt::new(execution, task, executor)),
            Err(StoreError::Conflict(_)) => None,
            Err(e) => {
                tracing::warn!(execution_id = %exec.id, error = %e, "cannot record attempt; the sweep will retry");
                None
            }
        }
    }

    /// Picks the executor of an attempt among the online, healthy executors
    /// assigned to `task`, in the lowest priority tier, by the task's
    /// strategy; a retry avoids `last` when it can. `Ok(None)`: no candidate.
    async fn pick(&self, task: &Task, last: Option<&ExecutorId>) -> Result<Option<Executor>, StoreError> {
        let mut candidates = self.store.dispatch_candidates(&task.id).await?;
        // A retry goes to another executor when there is one.
        if let Some(last) = last
            && candidates.iter().any(|c| &c.executor.id != last)
        {
            candidates.retain(|c| &c.executor.id != last);
        }
        let mut candidates = lowest_priority_tier(candidates);
        if candidates.is_empty() {
            metrics::dispatch("no_candidate");
            return Ok(None);
        }
        let strategy = task.load_balance_strategy.as_str();
        let i = match self.balancers.get(strategy) {
            Some(b) => {
                let ctx = BalanceContext {
                    task,
                    store: self.store.as_ref(),
                    strategy,
                };
                b.pick(&ctx, &candidates).await?
            }
            None => {
                tracing::error!(task_id = %task.id, strategy, "unknown strategy; using the first candidate");
                0
            }
        };
        let i = if i < candidates.len() { i } else { 0 };
        Ok(Some(candidates.swap_remove(i).executor))
    }

    /// What recording an attempt on `executor`, sent at `at`, changes.
    fn attempt_change(&self, executor: &Executor, task: &Task, at: DateTime<Utc>) -> ExecutionChange {
        let deadline = at + chrono_of(self.config.dispatch_timeout) + Duration::seconds(task.timeout_seconds.into());
        ExecutionChange {
            executor_id: Some(Some(executor.id.clone())),
            dispatched_at: Some(Some(at)),
            timeout_at: Some(Some(deadline)),
            next_attempt_at: Some(None),
            callback_token: Some(Some(new_token())),
            ..ExecutionChange::default()
        }
    }

    /// Gives a prepared attempt back (leadership was lost, or the engine is
    /// shutting down, before its instant): it becomes due again, at its
    /// instant, for whoever leads.
    async fn unprepare(&self, a: Attempt) {
        let e = &a.execution;
        if let Err(err) = self.hand_back(&e.id, e.retry_count, e.scheduled_time).await {
            tracing::warn!(execution_id = %e.id, error = %err, "cannot hand back a prepared attempt yet");
            self.unsent
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((e.id.clone(), e.retry_count));
        }
    }

    /// [`unprepare`](Self::unprepare) for each of `attempts`.
    async fn unprepare_all(&self, attempts: impl IntoIterator<Item = Attempt>) {
        for a in attempts {
            self.unprepare(a).await;
        }
    }

    /// Undoes the record of an attempt that was never sent.
    async fn hand_back(&self, id: &ExecutionId, retry_count: u32, due: DateTime<Utc>) -> Result<(), StoreError> {
        let change = ExecutionChange {
            dispatched_at: Some(None),
            timeout_at: Some(None),
            callback_token: Some(None),
            next_attempt_at: Some(Some(due)),
            ..ExecutionChange::default()
        };
        let guard = ExecutionGuard::status_in(&[Pending])
            .attempt(retry_count)
            .dispatched(true);
        match self.store.update_execution(id, &guard, &change).await {
            Ok(_) | Err(StoreError::Conflict(_)) | Err(StoreError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// What the executor is told about an attempt.
    fn request_for(&self, a: &Attempt) -> DispatchRequest {
        let exec = &a.execution;
        DispatchRequest {
            execution_id: exec.id.clone(),
            task: a.task.clone(),
            parameters: exec.parameters.clone(),
            scheduled_time: exec.scheduled_time,
            timeout_seconds: a.task.timeout_seconds,
            retry_count: exec.retry_count,
            callback_token: exec.callback_token.clone().unwrap_or_default(),
            reporter: self.reporter.clone(),
        }
    }

    /// Sends a recorded attempt and applies the answer.
    async fn run_attempt(self: Arc<Self>, a: Attempt) {
        let (a, outcome) = self.clone().send(a).await;
        self.settle(a, outcome).await;
    }

    /// Sends a recorded attempt (with the request built when it was
    /// prepared, if it was), bounded by `dispatch_timeout`.
    fn send(self: Arc<Self>, mut a: Attempt) -> futures::future::BoxFuture<'static, (Attempt, DispatchOutcome)> {
        let request = a.request.take().unwrap_or_else(|| self.request_for(&a));
        Box::pin(async move {
            let _permit = self.permits.acquire().await;
            note_fire_lag(&a.execution, self.now());
            let outcome = {
                let mut dispatch = self.dispatcher.dispatch(&a.executor, request);
                // Most in-process dispatches answer on the first poll: no timer for them.
                match futures::poll!(&mut dispatch) {
                    std::task::Poll::Ready(o) => o,
                    std::task::Poll::Pending => {
                        match tokio::time::timeout(self.config.dispatch_timeout, dispatch).await {
                            Ok(o) => o,
                            Err(_) => DispatchOutcome::Refused(format!(
                                "no answer within dispatch_timeout ({:?})",
                                self.config.dispatch_timeout
                            )),
                        }
                    }
                }
            };
            (a, outcome)
        })
    }

    /// Records the answer to a sent attempt.
    async fn settle(&self, a: Attempt, outcome: DispatchOutcome) {
        let Attempt {
            execution: exec,
            task,
            executor,
            ..
        } = a;
        match outcome {
            DispatchOutcome::Accepted => {
                metrics::dispatch("accepted");
                self.mark_running(&exec, &task, &executor).await;
            }
            DispatchOutcome::Finished(report) => {
                metrics::dispatch("finished");
                match self.apply_report(&exec, Some(&task), report.clone()).await {
                    Ok(_) => {}
                    Err(SchedulerError::Store(StoreError::Unavailable(e))) => {
                        // Not lost to an outage: the report path retries with backoff.
                        tracing::warn!(execution_id = %exec.id, error = %e, "synchronous result not recorded yet; retrying");
                        let (reporter, token) =
                            (self.reporter.clone(), exec.callback_token.clone().unwrap_or_default());
                        self.spawn(async move { reporter.report(&exec.id, &token, report).await });
                    }
                    Err(e) => tracing::debug!(execution_id = %exec.id, error = %e, "synchronous result not applied"),
                }
            }
            DispatchOutcome::Refused(reason) => {
                metrics::dispatch("refused");
                let line = format!(
                    "attempt {} on executor {} ({}) failed: {reason}",
                    exec.retry_count, executor.id, executor.name
                );
                tracing::info!(execution_id = %exec.id, "{line}");
                let _ = self.fail_attempt(&exec, Some(&task), &line, Failed).await;
            }
        }
    }

    /// The executor accepted: `running` from now, until the task's timeout.
    async fn mark_running(&self, exec: &Execution, task: &Task, executor: &Executor) {
        let now = self.now();
        let change = ExecutionChange {
            status: Some(Running),
            start_time: Some(Some(now)),
            timeout_at: Some(Some(now + Duration::seconds(task.timeout_seconds.into()))),
            ..ExecutionChange::default()
        };
        let guard = ExecutionGuard::status_in(&[Pending])
            .attempt(exec.retry_count)
            .dispatched(true);
        match self.store.update_execution(&exec.id, &guard, &change).await {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                // Stopped meanwhile (a late "accepted" never resurrects it), or
                // the executor already reported: nothing to change here.
                if let Ok(cur) = self.store.get_execution(&exec.id).await
                    && cur.status == Cancelled
                {
                    self.dispatcher.stop(executor, &exec.id).await;
                }
            }
            Err(e) => tracing::warn!(execution_id = %exec.id, error = %e, "cannot mark running"),
        }
    }

    /// An attempt failed or timed out: retry with backoff while retries are
    /// left, else end in `final_status` (`failed` or `timeout`).
    pub(crate) async fn fail_attempt(
        &self,
        exec: &Execution,
        task: Option<&Task>,
        reason: &str,
        final_status: ExecutionStatus,
    ) -> SchedulerResult<Execution> {
        let max_retry = match task {
            Some(t) => t.max_retry,
            None => self
                .store
                .get_task(&exec.task_id)
                .await
                .map(|t| t.max_retry)
                .unwrap_or(0),
        };
        let now = self.now();
        let guard = ExecutionGuard::status_in(&[Pending, Running]).attempt(exec.retry_count);
        if exec.retry_count < max_retry {
            let delay = self.config.backoff(exec.retry_count);
            let at = now + chrono_of(delay);
            let change = ExecutionChange {
                status: Some(Pending),
                retry_count: Some(exec.retry_count + 1),
                start_time: Some(None),
                dispatched_at: Some(None),
                timeout_at: Some(None),
                callback_token: Some(None),
                next_attempt_at: Some(Some(at)),
                append_log: Some(format!("{reason}; retry {} in {:?}", exec.retry_count + 1, delay)),
                ..ExecutionChange::default()
            };
            let updated = self.store.update_execution(&exec.id, &guard, &change).await?;
            metrics::retry();
            tracing::info!(execution_id = %exec.id, retry = updated.retry_count, ?delay, "attempt failed; retrying");
            if let Some(me) = self.arc() {
                let e = updated.clone();
                self.spawn(async move {
                    tokio::select! {
                        _ = me.shutdown.cancelled() => return,
                        _ = me.clock.sleep_until(at) => {}
                    }
                    me.dispatch_pending(e, None).await;
                });
            }
            Ok(updated)
        } else {
            let change = ExecutionChange {
                status: Some(final_status),
                end_time: Some(Some(now)),
                timeout_at: Some(None),
                append_log: Some(reason.to_owned()),
                ..ExecutionChange::default()
            };
            let updated = self.store.update_execution(&exec.id, &guard, &change).await?;
            metrics::finished(final_status);
            tracing::info!(execution_id = %exec.id, status = final_status.as_str(), "execution ended: {reason}");
            Ok(updated)
        }
    }

    /// Applies a report from the callback route or an in-process handler.
    pub(crate) async fn report(
        &self,
        id: &ExecutionId,
        token: &str,
        report: ExecutionReport,
    ) -> SchedulerResult<Execution> {
        let exec = self.store.get_execution(id).await?;
        let expected = exec.callback_token.as_deref().unwrap_or("");
        if expected.is_empty() || !tokens_match(expected, token) {
            return Err(SchedulerError::Unauthorized(format!(
                "wrong or missing callback token for execution {id}"
            )));
        }
        if exec.status.is_final() {
            return Err(StoreError::Conflict(format!("execution {id} is already {}", exec.status.as_str())).into());
        }
        self.apply_report(&exec, None, report).await
    }

    async fn apply_report(
        &self,
        exec: &Execution,
        task: Option<&Task>,
        report: ExecutionReport,
    ) -> SchedulerResult<Execution> {
        let now = self.now();
        let guard = ExecutionGuard::status_in(&[Pending, Running]).attempt(exec.retry_count);
        let guard = if exec.status == Pending {
            guard.dispatched(true)
        } else {
            guard
        };
        if exec.status == Pending && exec.dispatched_at.is_none() {
            return Err(StoreError::Conflict(format!("execution {} has no attempt in flight", exec.id)).into());
        }
        let started = exec.start_time.or(exec.dispatched_at).unwrap_or(now);
        match report.status {
            Running => {
                let mut change = ExecutionChange {
                    status: Some(Running),
                    append_log: report.logs,
                    ..ExecutionChange::default()
                };
                if exec.status == Pending {
                    let timeout = match task {
                        Some(t) => t.timeout_seconds,
                        None => self.store.get_task(&exec.task_id).await?.timeout_seconds,
                    };
                    change.start_time = Some(Some(now));
                    change.timeout_at = Some(Some(now + Duration::seconds(timeout.into())));
                }
                Ok(self.store.update_execution(&exec.id, &guard, &change).await?)
            }
            Success => {
                let change = ExecutionChange {
                    status: Some(Success),
                    start_time: Some(Some(started)),
                    end_time: Some(Some(report.end_time.unwrap_or(now).max(started))),
                    result: Some(report.result),
                    append_log: report.logs,
                    timeout_at: Some(None),
                    ..ExecutionChange::default()
                };
                let e = self.store.update_execution(&exec.id, &guard, &change).await?;
                metrics::finished(Success);
                Ok(e)
            }
            Failed => {
                if report.result.is_some() {
                    let change = ExecutionChange {
                        result: Some(report.result),
                        ..ExecutionChange::default()
                    };
                    self.store.update_execution(&exec.id, &guard, &change).await?;
                }
                let reason = format!(
                    "attempt {} failed on executor {}: {}",
                    exec.retry_count,
                    exec.executor_id.as_ref().map_or("-", |x| x.as_str()),
                    report.logs.as_deref().unwrap_or("no details")
                );
                self.fail_attempt(exec, task, &reason, Failed).await
            }
            other => Err(ValidationError::new(
                "status",
                format!("must be running, success or failed (got {})", other.as_str()),
            )
            .into()),
        }
    }

    /// Cancels a pending or running execution and asks its executor to stop.
    pub(crate) async fn stop_execution(&self, id: &ExecutionId) -> SchedulerResult<Execution> {
        let exec = self.store.get_execution(id).await?;
        if exec.status.is_final() {
            return Err(StoreError::Conflict(format!("execution {id} is already {}", exec.status.as_str())).into());
        }
        let change = ExecutionChange {
            status: Some(Cancelled),
            end_time: Some(Some(self.now())),
            timeout_at: Some(None),
            append_log: Some("stopped by request".to_owned()),
            ..ExecutionChange::default()
        };
        let guard = ExecutionGuard::status_in(&[Pending, Running]);
        let updated = self.store.update_execution(id, &guard, &change).await?;
        metrics::finished(Cancelled);
        tracing::info!(execution_id = %id, "execution stopped");
        if exec.status == Pending && exec.dispatched_at.is_some() {
            // Possibly a fire prepared for its instant: it must not go.
            let now = self.now();
            let mut early = self.stopped_early.lock().unwrap_or_else(|p| p.into_inner());
            early.retain(|_, at| *at >= now - STOPPED_EARLY_KEPT);
            early.insert(id.clone(), now);
            self.stopped_early_len.store(early.len(), Ordering::Relaxed);
        }
        if exec.dispatched_at.is_some() || exec.status == Running {
            self.stop_on_executor(&exec).await;
        }
        Ok(updated)
    }

    /// Whether `id` was stopped through this instance before its prepared
    /// attempt was sent (and forgets it).
    fn stopped_before_sent(&self, id: &ExecutionId) -> bool {
        if self.stopped_early_len.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let mut early = self.stopped_early.lock().unwrap_or_else(|p| p.into_inner());
        let found = early.remove(id).is_some();
        self.stopped_early_len.store(early.len(), Ordering::Relaxed);
        found
    }

    /// Best-effort stop request to the executor of an execution.
    pub(crate) async fn stop_on_executor(&self, exec: &Execution) {
        let Some(executor_id) = &exec.executor_id else { return };
        match self.store.get_executor(executor_id).await {
            Ok(executor) => {
                let (dispatcher, id) = (self.dispatcher.clone(), exec.id.clone());
                self.spawn(async move { dispatcher.stop(&executor, &id).await });
            }
            Err(e) => tracing::debug!(execution_id = %exec.id, error = %e, "no executor to send the stop to"),
        }
    }

    /// A running (or unanswered) attempt passed its deadline.
    pub(crate) async fn time_out(&self, exec: Execution) {
        // One read serves the log line and the retry rule.
        let task = self.store.get_task(&exec.task_id).await.ok();
        let timeout = task.as_ref().map_or(0, |t| t.timeout_seconds);
        let reason = if exec.status == Running {
            format!("attempt {} timed out after {timeout} s", exec.retry_count)
        } else {
            format!("attempt {} got no answer and timed out", exec.retry_count)
        };
        self.stop_on_executor(&exec).await;
        if let Err(e) = self.fail_attempt(&exec, task.as_ref(), &reason, Timeout).await {
            tracing::debug!(execution_id = %exec.id, error = %e, "timeout not applied");
        }
    }

    /// On becoming leader: attempts sent by a previous leader with no answer
    /// recorded are treated as running on their executor (never re-sent);
    /// pending executions are dispatched at once.
    pub(crate) async fn recover(&self) {
        // Attempts this instance knows it never sent go back to pending first.
        let unsent = std::mem::take(&mut *self.unsent.lock().unwrap_or_else(|p| p.into_inner()));
        let now = self.now();
        for (id, retry_count) in unsent {
            if self.hand_back(&id, retry_count, now).await.is_err() {
                self.unsent
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((id, retry_count));
            }
        }
        match self.store.unanswered_executions(10_000).await {
            Ok(list) => {
                for e in list {
                    let change = ExecutionChange {
                        status: Some(Running),
                        start_time: Some(e.dispatched_at),
                        append_log: Some(format!(
                            "attempt {} outcome unknown after a leader change; treated as running",
                            e.retry_count
                        )),
                        ..ExecutionChange::default()
                    };
                    let guard = ExecutionGuard::status_in(&[Pending])
                        .attempt(e.retry_count)
                        .dispatched(true);
                    let _ = self.store.update_execution(&e.id, &guard, &change).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "recovery: cannot list unanswered attempts"),
        }
        self.sweep().await;
    }
}
