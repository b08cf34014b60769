//! Running executions inside the embedding program: async handlers chosen by
//! task name.

use crate::dispatch::{DispatchOutcome, DispatchRequest, Dispatcher, ExecutionReport, PreparedDispatch};
use crate::domain::{ExecutionId, ExecutionStatus, Executor, ExecutorRegistration, Task};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::FutureExt;
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What a handler is told about the execution it runs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct JobContext {
    /// The execution (an idempotency key across retries).
    pub execution_id: ExecutionId,
    /// The task, as it was when the attempt was dispatched.
    pub task: Arc<Task>,
    /// Parameters, after a manual override.
    pub parameters: Option<serde_json::Value>,
    /// The cron instant, or the manual trigger time.
    pub scheduled_time: DateTime<Utc>,
    /// Attempt number, 0 for the first.
    pub retry_count: u32,
    /// Cancelled when the execution is stopped or times out; the handler's
    /// future is also dropped then, so checking it is only needed to clean up
    /// between awaits.
    pub cancel: CancellationToken,
}

type HandlerFn = dyn Fn(JobContext) -> BoxFuture<'static, Result<serde_json::Value, String>> + Send + Sync;

/// An async function that runs executions of tasks with a given name.
#[derive(Clone)]
pub struct Handler(Arc<HandlerFn>);

impl Handler {
    /// Wraps `f`; its error is turned into the execution's log line.
    pub fn new<F, Fut, E>(f: F) -> Self
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<serde_json::Value, E>> + Send + 'static,
        E: Display + 'static,
    {
        Self(Arc::new(move |ctx| {
            let fut = f(ctx);
            async move { fut.await.map_err(|e| e.to_string()) }.boxed()
        }))
    }
}

/// The report for a handler's outcome (`Err(())`: it panicked).
fn report_of(outcome: Result<Result<serde_json::Value, String>, impl Sized>) -> ExecutionReport {
    let (status, result, logs) = match outcome {
        Ok(Ok(value)) => (ExecutionStatus::Success, Some(value), None),
        Ok(Err(message)) => (
            ExecutionStatus::Failed,
            None,
            Some(format!("handler failed: {message}")),
        ),
        Err(_panic) => (ExecutionStatus::Failed, None, Some("handler panicked".to_owned())),
    };
    ExecutionReport {
        status,
        result,
        logs,
        end_time: None,
    }
}

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Handler")
    }
}

/// A [`Dispatcher`] that runs each execution with the handler registered
/// under its task's name, in this process.
///
/// A task named `cleanup` runs the handler registered as `cleanup`; a task
/// with no handler is refused (a failed attempt, retried per the task). The
/// handler runs on the tokio runtime; its `Ok(value)` becomes `success` with
/// `result = value`, its `Err(e)` becomes a failed attempt with `e` in the
/// logs, and a panic is a failed attempt too. Stop and timeout cancel it.
#[derive(Default)]
pub struct InProcessDispatcher {
    handlers: rustc_hash::FxHashMap<String, Handler>,
    shared: Arc<Shared>,
}

/// What runs outlive a dispatch call with: handlers still running, by execution.
#[derive(Default)]
struct Shared {
    running: Mutex<HashMap<ExecutionId, CancellationToken>>,
    tracker: tokio_util::task::TaskTracker,
}

impl Shared {
    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<ExecutionId, CancellationToken>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl InProcessDispatcher {
    /// A dispatcher with no handlers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `handler` for tasks named `name`.
    pub fn register(&mut self, name: impl Into<String>, handler: Handler) {
        self.handlers.insert(name.into(), handler);
    }

    /// Names with a handler.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.handlers.keys().cloned().collect();
        v.sort();
        v
    }

    /// Everything a run needs, looked up and built before it starts.
    fn run_of(&self, request: DispatchRequest) -> Run {
        Run {
            handler: self.handlers.get(&request.task.name).cloned(),
            cancel: CancellationToken::new(),
            request: Some(request),
            shared: self.shared.clone(),
        }
    }
}

/// One handler run, ready to start.
struct Run {
    handler: Option<Handler>,
    /// The context's token, kept to cancel a run that waits.
    cancel: CancellationToken,
    /// Taken apart into the handler's context when it starts.
    request: Option<DispatchRequest>,
    shared: Arc<Shared>,
}

impl PreparedDispatch for Run {
    /// Starts the handler: one that finishes on its first poll (most do)
    /// costs no task, and its result is the answer; one that waits moves to
    /// a task of its own, still cancellable. A panic, at the call or in a
    /// poll, is a failed attempt.
    fn start(&mut self) -> DispatchOutcome {
        let Some(request) = self.request.take() else {
            return DispatchOutcome::Refused("this run was started already".to_owned());
        };
        let Some(handler) = &self.handler else {
            return DispatchOutcome::Refused(format!("no in-process handler named {:?}", request.task.name));
        };
        // The context takes what it shows from the request; what a run that
        // waits reports with is kept apart.
        let DispatchRequest {
            execution_id,
            task,
            parameters,
            scheduled_time,
            retry_count,
            callback_token,
            reporter,
            ..
        } = request;
        let ctx = JobContext {
            execution_id: execution_id.clone(),
            task,
            parameters,
            scheduled_time,
            retry_count,
            cancel: self.cancel.clone(),
        };
        let mut run = match std::panic::catch_unwind(AssertUnwindSafe(|| (handler.0)(ctx))) {
            Ok(fut) => AssertUnwindSafe(fut).catch_unwind(),
            Err(_panic) => return DispatchOutcome::Finished(report_of(Err(()))),
        };
        let mut first_poll = std::task::Context::from_waker(std::task::Waker::noop());
        if let std::task::Poll::Ready(outcome) = run.poll_unpin(&mut first_poll) {
            return DispatchOutcome::Finished(report_of(outcome));
        }
        let (shared, cancel) = (self.shared.clone(), self.cancel.clone());
        shared.running().insert(execution_id.clone(), cancel.clone());
        self.shared.tracker.spawn(async move {
            let outcome = tokio::select! {
                r = run => Some(r),
                _ = cancel.cancelled() => None,
            };
            shared.running().remove(&execution_id);
            // Stopped or timed out: the engine already recorded why.
            let Some(outcome) = outcome else { return };
            // Handlers that started at the same instant run first; the
            // bookkeeping of this one waits its turn.
            tokio::task::yield_now().await;
            reporter
                .report(&execution_id, &callback_token, report_of(outcome))
                .await;
        });
        DispatchOutcome::Accepted
    }
}

#[async_trait]
impl Dispatcher for InProcessDispatcher {
    async fn dispatch(&self, _executor: &Executor, request: DispatchRequest) -> DispatchOutcome {
        self.run_of(request).start()
    }

    /// Always ready: the handler is looked up and its context built ahead,
    /// so the instant only calls it.
    fn prepare(
        &self,
        _executor: &Executor,
        request: DispatchRequest,
    ) -> Result<Box<dyn PreparedDispatch>, DispatchRequest> {
        Ok(Box::new(self.run_of(request)))
    }

    async fn stop(&self, _executor: &Executor, execution_id: &ExecutionId) {
        if let Some(token) = self.shared.running().remove(execution_id) {
            token.cancel();
        }
    }

    fn local_executors(&self, instance_id: &str) -> Vec<ExecutorRegistration> {
        vec![ExecutorRegistration {
            name: "in-process".to_owned(),
            instance_id: format!("in-process@{instance_id}"),
            base_url: "http://localhost/in-process".to_owned(),
            health_check_url: None,
            metadata: None,
        }]
    }

    async fn drain(&self, grace: Duration) -> Vec<ExecutionId> {
        self.shared.tracker.close();
        if tokio::time::timeout(grace, self.shared.tracker.wait()).await.is_ok() {
            return Vec::new();
        }
        let left: Vec<(ExecutionId, CancellationToken)> = self.shared.running().drain().collect();
        for (_, token) in &left {
            token.cancel();
        }
        left.into_iter().map(|(id, _)| id).collect()
    }
}
