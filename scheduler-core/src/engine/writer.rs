//! The execution writer: compare-and-set writes of the fire path (an
//! in-process handler's synchronous result, an executor's acceptance)
//! coalesced into [`Store::update_executions`](crate::Store::update_executions)
//! batches.
//!
//! Callers queue a write and (when they need it) await its outcome. One task
//! takes whatever is queued, up to [`BATCH`], writes it in one call, and
//! answers each caller: while a batch is being written the next one fills, so
//! batches grow with the load and a lone write waits for nobody. The queue is
//! bounded ([`QUEUE`]): when the store falls behind, callers wait to queue
//! (backpressure reaches the fire path, whose in-flight fires are bounded in
//! turn). A store outage is retried with backoff for [`RETRY_FOR`]; a write
//! still not made then is dropped with an error log, and its execution ends by
//! its timeout like any attempt whose answer was lost.

use super::{Inner, metrics};
use crate::domain::ExecutionStatus;
use crate::store::{ExecutionUpdate, StoreError, StoreResult, UpdateOutcome};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Writes waiting at most; a caller beyond this waits to queue.
pub(crate) const QUEUE: usize = 16_384;
/// Writes per store call at most.
const BATCH: usize = 1_000;
/// Batches written at once (distinct rows: no batch waits on another's locks).
const WRITERS: usize = 4;
/// How long a batch is retried while the store is unavailable.
const RETRY_FOR: Duration = Duration::from_secs(600);

/// A queued write.
pub(crate) struct Queued {
    update: ExecutionUpdate,
    /// Counted as finished in this status once applied.
    finished: Option<ExecutionStatus>,
    reply: Option<oneshot::Sender<StoreResult<UpdateOutcome>>>,
}

pub(crate) type WriteQueue = mpsc::Sender<Queued>;
pub(crate) type WriteReceiver = mpsc::Receiver<Queued>;

pub(crate) fn queue() -> (WriteQueue, WriteReceiver) {
    mpsc::channel(QUEUE)
}

impl Inner {
    /// Queues a write without waiting for it to be made (it is counted in
    /// the metrics as `finished` once applied).
    pub(crate) async fn write_later(&self, update: ExecutionUpdate, finished: Option<ExecutionStatus>) {
        self.enqueue(update, finished, None).await;
    }

    /// Queues a write and waits for its outcome.
    pub(crate) async fn write(
        &self,
        update: ExecutionUpdate,
        finished: Option<ExecutionStatus>,
    ) -> StoreResult<UpdateOutcome> {
        let (tx, rx) = oneshot::channel();
        self.enqueue(update, finished, Some(tx)).await;
        rx.await
            .unwrap_or_else(|_| Err(StoreError::Unavailable("the execution writer stopped".to_owned())))
    }

    async fn enqueue(
        &self,
        update: ExecutionUpdate,
        finished: Option<ExecutionStatus>,
        reply: Option<oneshot::Sender<StoreResult<UpdateOutcome>>>,
    ) {
        let q = Queued {
            update,
            finished,
            reply,
        };
        if !self.started.load(std::sync::atomic::Ordering::Acquire) {
            // No writer runs before `Scheduler::start` (an engine used only
            // for its API): write directly.
            self.flush(vec![q]).await;
            return;
        }
        if let Err(mpsc::error::SendError(q)) = self.writes.send(q).await {
            // The writer has stopped (shutdown): write directly.
            self.flush(vec![q]).await;
        }
    }

    /// The writer task: until shutdown, then what is left in the queue.
    pub(crate) async fn run_writer(self: Arc<Self>, mut rx: WriteReceiver) {
        let writers = Arc::new(tokio::sync::Semaphore::new(WRITERS));
        loop {
            let first = tokio::select! {
                biased;
                m = rx.recv() => m,
                _ = self.shutdown.cancelled() => None,
            };
            let Some(first) = first else {
                rx.close();
                // Batches being written finish first.
                let _all = writers.acquire_many(WRITERS as u32).await;
                let mut rest = Vec::new();
                while let Ok(q) = rx.try_recv() {
                    rest.push(q);
                }
                while !rest.is_empty() {
                    let tail = rest.split_off(rest.len().min(BATCH));
                    self.flush(std::mem::replace(&mut rest, tail)).await;
                }
                return;
            };
            // While every writer is busy the queue fills, and the next batch
            // is larger.
            let Ok(permit) = writers.clone().acquire_owned().await else {
                return;
            };
            // Writes queued by tasks woken together land in one batch.
            tokio::task::yield_now().await;
            let mut batch = Vec::with_capacity(BATCH.min(rx.len() + 1));
            batch.push(first);
            while batch.len() < BATCH
                && let Ok(q) = rx.try_recv()
            {
                batch.push(q);
            }
            metrics::write_backlog(rx.len());
            let me = self.clone();
            tokio::spawn(async move {
                me.flush(batch).await;
                drop(permit);
            });
        }
    }

    async fn flush(&self, batch: Vec<Queued>) {
        let (updates, rest): (Vec<ExecutionUpdate>, Vec<_>) =
            batch.into_iter().map(|q| (q.update, (q.finished, q.reply))).unzip();
        let started = tokio::time::Instant::now();
        let mut delay = Duration::from_millis(50);
        let result = loop {
            match self.store.update_executions(&updates).await {
                Err(StoreError::Unavailable(e)) if started.elapsed() < RETRY_FOR => {
                    tracing::warn!(writes = updates.len(), error = %e, ?delay, "execution writes not made yet; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                r => break r,
            }
        };
        match result {
            Ok(outcomes) => {
                for ((finished, reply), outcome) in rest.into_iter().zip(outcomes) {
                    if outcome == UpdateOutcome::Applied
                        && let Some(status) = finished
                    {
                        metrics::finished(status);
                    }
                    if let Some(reply) = reply {
                        let _ = reply.send(Ok(outcome));
                    }
                }
            }
            Err(e) => {
                tracing::error!(writes = updates.len(), error = %e, "execution writes given up; their attempts end by timeout");
                for (_, reply) in rest {
                    if let Some(reply) = reply {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
            }
        }
    }
}
