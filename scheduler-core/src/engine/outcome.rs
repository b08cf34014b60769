//! Outcomes: reports from executors (the callback route, in-process
//! handlers) turned into the execution's next state.

use super::{Inner, SchedulerError, SchedulerResult, metrics};
use crate::dispatch::ExecutionReport;
use crate::dispatch::ReportSink;
use crate::domain::*;
use crate::store::StoreError;
use async_trait::async_trait;
use std::sync::Weak;

use ExecutionStatus::{Failed, Pending, Running, Success};

/// Compares secrets in time independent of where they differ.
fn tokens_match(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Inner {
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

    pub(super) async fn apply_report(
        &self,
        exec: &Execution,
        task: Option<&Task>,
        report: ExecutionReport,
    ) -> SchedulerResult<Execution> {
        let now = self.now();
        if exec.status == Pending && exec.dispatched_at.is_none() {
            return Err(StoreError::Conflict(format!("execution {} has no attempt in flight", exec.id)).into());
        }
        match report.status {
            Running => {
                let timeout = match (exec.status, task) {
                    (Pending, Some(t)) => t.timeout_seconds,
                    (Pending, None) => self.store.get_task(&exec.task_id).await?.timeout_seconds,
                    _ => 0,
                };
                let (guard, change) = transition::progress(exec, report.logs, now, timeout);
                Ok(self.store.update_execution(&exec.id, &guard, &change).await?)
            }
            Success => {
                let (guard, change) = transition::succeeded(exec, report.result, report.logs, report.end_time, now);
                let e = self.store.update_execution(&exec.id, &guard, &change).await?;
                metrics::finished(Success);
                Ok(e)
            }
            Failed => {
                if report.result.is_some() {
                    let (guard, change) = transition::failure_result(exec, report.result);
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
}

/// Hands in-process reports back to the engine.
pub(crate) struct EngineSink(pub(crate) Weak<Inner>);

/// How long an in-process report is retried while the store is unavailable.
const REPORT_RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(600);

#[async_trait]
impl ReportSink for EngineSink {
    /// Applies a handler's report; while the store is unavailable, retries
    /// with backoff (like an HTTP executor retries its callback), so a result
    /// is not lost to a database outage.
    async fn report(&self, execution_id: &ExecutionId, token: &str, report: ExecutionReport) {
        let mut delay = std::time::Duration::from_millis(100);
        let started = tokio::time::Instant::now();
        loop {
            let Some(inner) = self.0.upgrade() else { return };
            match inner.report(execution_id, token, report.clone()).await {
                Err(SchedulerError::Store(StoreError::Unavailable(e)))
                    if started.elapsed() < REPORT_RETRY_FOR && !inner.shutdown.is_cancelled() =>
                {
                    tracing::warn!(execution_id = %execution_id, error = %e, ?delay, "report not recorded yet; retrying");
                    drop(inner);
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(std::time::Duration::from_secs(5));
                }
                Err(e) => {
                    tracing::debug!(execution_id = %execution_id, error = %e, "in-process report not applied");
                    return;
                }
                Ok(_) => return,
            }
        }
    }
}
