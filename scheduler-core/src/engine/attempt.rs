//! Fires, attempts, retries, reports and stops: the life of an execution.
//!
//! Retries (see docs/reference/semantics.md#retries), with `retry_backoff` 1 s and `max_retry` 3:
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

use super::{Inner, SchedulerError, SchedulerResult, metrics};
use crate::balance::{BalanceContext, lowest_priority_tier};
use crate::dispatch::{DispatchOutcome, DispatchRequest, PreparedDispatch};
use crate::domain::*;
use crate::store::{Candidate, ExecutionUpdate, StoreError, UpdateOutcome};
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

use ExecutionStatus::{Cancelled, Failed, Success};

/// An attempt recorded in the store, ready to be sent.
///
/// Boxed parts: an instant moves thousands of these around, and collects
/// them into vectors of thousands (64 bytes each instead of about 300).
pub(crate) struct Attempt {
    pub(super) execution: Box<Execution>,
    pub(super) task: Arc<Task>,
    pub(super) executor: Arc<Executor>,
    /// A fire prepared ahead of its instant: readied by a dispatcher that
    /// sends without waiting, or else the request to send.
    pub(super) ready: Option<Box<dyn PreparedDispatch>>,
    pub(super) request: Option<Box<DispatchRequest>>,
    /// The answer of a started `ready`, and about when it was sent.
    pub(super) answer: Option<Box<(DispatchOutcome, DateTime<Utc>)>>,
    /// Stopped before its instant: not sent.
    pub(super) stopped: bool,
}

// An instant moves and collects thousands of these: keep them small.
const _: () = assert!(std::mem::size_of::<Attempt>() <= 64);

/// An answer to a sent attempt: the write it comes to, when that is all
/// (see [`Inner::success_write`]), or what [`Inner::settle`] must decide.
pub(super) enum Answer {
    Write(ExecutionUpdate),
    Settle(Attempt, DispatchOutcome),
}

pub(super) fn chrono_of(d: std::time::Duration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::MAX)
}

impl Attempt {
    pub(super) fn new(execution: Execution, task: Arc<Task>, executor: Arc<Executor>) -> Self {
        Self {
            execution: Box::new(execution),
            task,
            executor,
            ready: None,
            request: None,
            answer: None,
            stopped: false,
        }
    }
}

/// At most 200 characters of a reason that may hold an executor's words, for
/// a log field (which the subscriber escapes).
pub(super) fn truncated(reason: &str) -> &str {
    match reason.char_indices().nth(200) {
        Some((i, _)) => &reason[..i],
        None => reason,
    }
}

/// Records the fire lag of a first attempt sent at `now`.
pub(super) fn note_fire_lag(exec: &Execution, now: DateTime<Utc>) {
    if exec.retry_count == 0 {
        let lag = (now - exec.scheduled_time).num_microseconds().unwrap_or(0);
        metrics::fire_lag(lag.max(0) as f64 / 1e6);
    }
}

impl Inner {
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
    pub(super) async fn begin_attempt(&self, exec: Execution, task: Arc<Task>, at: DateTime<Utc>) -> Option<Attempt> {
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
        let (guard, change) = self.attempt_record(exec.retry_count, &executor, &task, at);
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
    pub(super) async fn pick(
        &self,
        task: &Task,
        last: Option<&ExecutorId>,
    ) -> Result<Option<Arc<Executor>>, StoreError> {
        let candidates = self.store.dispatch_candidates(&task.id).await?;
        self.pick_among(task, &candidates, last).await
    }

    /// [`pick`](Self::pick) among candidates already read (a list many
    /// tasks may share: it is copied only when it must be narrowed).
    pub(super) async fn pick_among(
        &self,
        task: &Task,
        candidates: &[Candidate],
        last: Option<&ExecutorId>,
    ) -> Result<Option<Arc<Executor>>, StoreError> {
        // A retry goes to another executor when there is one; then only the
        // lowest priority tier is left.
        let avoid = last.filter(|l| {
            candidates.iter().any(|c| &c.executor.id == *l) && candidates.iter().any(|c| &c.executor.id != *l)
        });
        let tiers = candidates.iter().any(|c| c.priority != candidates[0].priority);
        let narrowed;
        let candidates = if avoid.is_some() || tiers {
            narrowed = lowest_priority_tier(
                candidates
                    .iter()
                    .filter(|c| avoid.is_none_or(|l| &c.executor.id != l))
                    .cloned()
                    .collect(),
            );
            &narrowed[..]
        } else {
            candidates
        };
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
                b.pick(&ctx, candidates).await?
            }
            None => {
                tracing::error!(task_id = %task.id, strategy, "unknown strategy; using the first candidate");
                0
            }
        };
        let i = if i < candidates.len() { i } else { 0 };
        Ok(Some(candidates[i].executor.clone()))
    }

    /// Recording attempt `retry_count` on `executor`, sent at `at` (its
    /// deadline: the dispatch timeout, then the task's timeout).
    pub(super) fn attempt_record(
        &self,
        retry_count: u32,
        executor: &Executor,
        task: &Task,
        at: DateTime<Utc>,
    ) -> (ExecutionGuard, ExecutionChange) {
        let deadline = at + chrono_of(self.config.dispatch_timeout) + Duration::seconds(task.timeout_seconds.into());
        let token = crate::dispatch::new_callback_token();
        transition::record_attempt(retry_count, &executor.id, at, deadline, token)
    }

    /// Gives a prepared attempt back (leadership was lost, or the engine is
    /// shutting down, before its instant): it becomes due again, at its
    /// instant, for whoever leads.
    pub(super) async fn unprepare(&self, a: Attempt) {
        let e = &a.execution;
        if let Err(err) = self.hand_back(&e.id, e.retry_count, e.scheduled_time).await {
            tracing::warn!(execution_id = %e.id, error = %err, "cannot hand back a prepared attempt yet");
            self.book.note_unsent([(e.id.clone(), e.retry_count)]);
        }
    }

    /// [`unprepare`](Self::unprepare) for each of `attempts`.
    pub(super) async fn unprepare_all(&self, attempts: impl IntoIterator<Item = Attempt>) {
        for a in attempts {
            self.unprepare(a).await;
        }
    }

    /// Undoes the record of an attempt that was never sent.
    pub(super) async fn hand_back(
        &self,
        id: &ExecutionId,
        retry_count: u32,
        due: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (guard, change) = transition::hand_back(retry_count, due);
        match self.store.update_execution(id, &guard, &change).await {
            Ok(_) | Err(StoreError::Conflict(_)) | Err(StoreError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// What the executor is told about an attempt.
    pub(super) fn request_for(&self, a: &Attempt) -> DispatchRequest {
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
    pub(super) async fn run_attempt(self: Arc<Self>, a: Attempt) {
        let (a, outcome) = self.clone().send(a).await;
        self.settle(a, outcome, self.now()).await;
    }

    /// Sends a recorded attempt (with the request built when it was
    /// prepared, if it was), bounded by `dispatch_timeout`.
    pub(super) fn send(
        self: Arc<Self>,
        mut a: Attempt,
    ) -> futures::future::BoxFuture<'static, (Attempt, DispatchOutcome)> {
        let request = a.request.take().map_or_else(|| self.request_for(&a), |r| *r);
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

    /// The write of the fire path's common answer: a synchronous success of
    /// a recorded attempt (one batched write, not awaited; the caller counts
    /// the dispatch as `finished`). Any other answer is handed back for
    /// [`settle`](Self::settle).
    pub(super) fn success_write(&self, a: Attempt, outcome: DispatchOutcome, answered_at: DateTime<Utc>) -> Answer {
        match outcome {
            DispatchOutcome::Finished(report) if report.status == Success && a.execution.dispatched_at.is_some() => {
                let exec = &a.execution;
                let (guard, change) =
                    transition::succeeded(exec, report.result, report.logs, report.end_time, answered_at);
                Answer::Write(ExecutionUpdate {
                    id: exec.id.clone(),
                    guard,
                    change,
                })
            }
            other => Answer::Settle(a, other),
        }
    }

    /// Records the answer to a sent attempt, given at `answered_at` (what
    /// a synchronous success without its own end time ends at).
    pub(super) async fn settle(&self, a: Attempt, outcome: DispatchOutcome, answered_at: DateTime<Utc>) {
        let (a, outcome) = match self.success_write(a, outcome, answered_at) {
            Answer::Write(update) => {
                metrics::dispatch("finished");
                return self.write_later(update, Some(Success)).await;
            }
            Answer::Settle(a, outcome) => (a, outcome),
        };
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
                tracing::info!(execution_id = %exec.id, reason = %truncated(&line), "attempt refused");
                let _ = self.fail_attempt(&exec, Some(&task), &line, Failed).await;
            }
        }
    }

    /// The executor accepted: `running` from now, until the task's timeout.
    pub(super) async fn mark_running(&self, exec: &Execution, task: &Task, executor: &Executor) {
        let (guard, change) = transition::accepted(exec, self.now(), task.timeout_seconds);
        let update = ExecutionUpdate {
            id: exec.id.clone(),
            guard,
            change,
        };
        match self.write(update, None).await {
            Ok(UpdateOutcome::Applied) | Ok(UpdateOutcome::NotFound) => {}
            Ok(UpdateOutcome::Conflict) => {
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
        let loaded;
        let task = match task {
            Some(t) => Some(t),
            None => {
                loaded = self.store.get_task(&exec.task_id).await.ok();
                loaded.as_ref()
            }
        };
        let max_retry = task.map_or(0, |t| t.max_retry);
        let now = self.now();
        if exec.retry_count < max_retry {
            let delay = self.config.backoff(exec.retry_count);
            let at = now + chrono_of(delay);
            let line = format!("{reason}; retry {} in {:?}", exec.retry_count + 1, delay);
            let (guard, change) = transition::retry(exec, at, line);
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
            let (guard, change) = transition::give_up(exec, final_status, now, reason.to_owned());
            let updated = self.store.update_execution(&exec.id, &guard, &change).await?;
            metrics::finished(final_status);
            tracing::info!(execution_id = %exec.id, status = final_status.as_str(), reason = %truncated(reason), "execution ended");
            self.emit_final(&updated, task, final_status, reason);
            Ok(updated)
        }
    }
}
