//! Stops and timeouts: cancelling an execution, asking its executor to stop,
//! and timing out an attempt past its deadline.

use super::{Inner, SchedulerResult, metrics};
use crate::domain::*;
use crate::store::StoreError;

use ExecutionStatus::{Cancelled, Pending, Running, Timeout};

impl Inner {
    /// Cancels a pending or running execution and asks its executor to stop.
    pub(crate) async fn stop_execution(&self, id: &ExecutionId) -> SchedulerResult<Execution> {
        let exec = self.store.get_execution(id).await?;
        if exec.status.is_final() {
            return Err(StoreError::Conflict(format!("execution {id} is already {}", exec.status.as_str())).into());
        }
        let (guard, change) = transition::stopped(self.now());
        let updated = self.store.update_execution(id, &guard, &change).await?;
        metrics::finished(Cancelled);
        tracing::info!(execution_id = %id, "execution stopped");
        if exec.status == Pending && exec.dispatched_at.is_some() {
            // Possibly a fire prepared for its instant: it must not go.
            self.book.note_stop(id, self.now());
        }
        if exec.dispatched_at.is_some() || exec.status == Running {
            self.stop_on_executor(&exec).await;
        }
        Ok(updated)
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
}
