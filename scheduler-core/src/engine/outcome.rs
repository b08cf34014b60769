//! Outcomes: reports from executors (the callback route, in-process
//! handlers) turned into the execution's next state.

use super::{Inner, SchedulerError, SchedulerResult, metrics};
use crate::dispatch::ExecutionReport;
use crate::domain::*;
use crate::store::StoreError;
use chrono::Duration;

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
        let guard = transition::report_guard(exec);
        if exec.status == Pending && exec.dispatched_at.is_none() {
            return Err(StoreError::Conflict(format!("execution {} has no attempt in flight", exec.id)).into());
        }
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
                let (guard, change) = transition::succeeded(exec, report.result, report.logs, report.end_time, now);
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
}
