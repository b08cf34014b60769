//! The execution writer: compare-and-set writes of the fire path (an
//! in-process handler's synchronous result, an executor's acceptance)
//! coalesced into [`Store::update_executions`](crate::Store::update_executions)
//! batches.
//!
//! Callers queue a write, or the writes of a whole block of fires at once,
//! and (when they need it) await its outcome. One task takes whatever is
//! queued, up to [`BATCH`], writes it in one call, and answers each caller:
//! while a batch is being written the next one fills, so batches grow with
//! the load and a lone write waits for nobody. The queue is bounded
//! ([`QUEUE`] writes): when the store falls behind, callers wait to queue
//! (backpressure reaches the fire path, whose in-flight fires are bounded in
//! turn). A store outage is retried with backoff for [`RETRY_FOR`]; a write
//! still not made then is dropped with an error log, and its execution ends by
//! its timeout like any attempt whose answer was lost.

use super::{Inner, metrics};
use crate::domain::ExecutionStatus;
use crate::store::{ExecutionUpdate, StoreError, StoreResult, UpdateOutcome};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Writes waiting at most; a caller beyond this waits to queue.
pub(crate) const QUEUE: usize = 16_384;
/// Writes per store call at most.
const BATCH: usize = 1_000;
/// Writes queued in one operation at most: enough to make the queue's cost
/// per write small, few enough that a group is a small allocation that the
/// allocator reuses at once (a group of [`BATCH`] writes is about 280 kB,
/// memory that is returned to the system and faulted in again every second).
pub(crate) const GROUP: usize = 64;
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

/// The sending side: groups of writes, and the room left for more.
pub(crate) struct WriteQueue {
    tx: mpsc::UnboundedSender<Vec<Queued>>,
    /// One permit per write the queue has room for; a group takes its
    /// permits before it is queued, the writer gives them back as it takes
    /// the group out.
    room: Arc<Semaphore>,
}

pub(crate) struct WriteReceiver {
    rx: mpsc::UnboundedReceiver<Vec<Queued>>,
    room: Arc<Semaphore>,
}

impl WriteReceiver {
    /// Writes queued and not taken yet.
    fn backlog(&self) -> usize {
        QUEUE.saturating_sub(self.room.available_permits())
    }

    /// Takes a group out of the queue, giving back its room.
    fn took(&self, group: Vec<Queued>) -> Vec<Queued> {
        self.room.add_permits(group.len());
        group
    }
}

pub(crate) fn queue() -> (WriteQueue, WriteReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    let room = Arc::new(Semaphore::new(QUEUE));
    (WriteQueue { tx, room: room.clone() }, WriteReceiver { rx, room })
}

impl Inner {
    /// Queues a write without waiting for it to be made (it is counted in
    /// the metrics as `finished` once applied).
    pub(crate) async fn write_later(&self, update: ExecutionUpdate, finished: Option<ExecutionStatus>) {
        self.enqueue(update, finished, None).await;
    }

    /// Adds a write to `group` (see [`write_later`](Self::write_later)), and
    /// queues the group once it holds [`GROUP`]: many writes for one queue
    /// operation. The caller queues what is left with
    /// [`write_group_later`](Self::write_group_later).
    pub(crate) async fn add_to_group(
        &self,
        group: &mut Vec<Queued>,
        update: ExecutionUpdate,
        finished: Option<ExecutionStatus>,
    ) {
        group.push(Queued {
            update,
            finished,
            reply: None,
        });
        if group.len() >= GROUP {
            // A caller with a full group likely has more.
            let full = std::mem::replace(group, Vec::with_capacity(GROUP));
            self.enqueue_group(full).await;
        }
    }

    /// Queues a group of writes made by [`add_to_group`](Self::add_to_group).
    pub(crate) async fn write_group_later(&self, group: Vec<Queued>) {
        if !group.is_empty() {
            self.enqueue_group(group).await;
        }
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
        self.enqueue_group(vec![q]).await;
    }

    /// Queues at most [`GROUP`] writes, once the queue has room for them.
    async fn enqueue_group(&self, group: Vec<Queued>) {
        debug_assert!(group.len() <= GROUP);
        if !self.started.load(std::sync::atomic::Ordering::Acquire) {
            // No writer runs before `Scheduler::start` (an engine used only
            // for its API): write directly.
            self.flush(group).await;
            return;
        }
        let n = u32::try_from(group.len()).unwrap_or(u32::MAX);
        match self.writes.room.acquire_many(n).await {
            Ok(permits) => permits.forget(),
            // Never closed; written directly if it were.
            Err(_) => return self.flush(group).await,
        }
        if let Err(mpsc::error::SendError(group)) = self.writes.tx.send(group) {
            // The writer has stopped (shutdown): write directly.
            self.writes.room.add_permits(group.len());
            self.flush(group).await;
        }
    }

    /// The writer task: until shutdown, then what is left in the queue.
    pub(crate) async fn run_writer(self: Arc<Self>, mut rx: WriteReceiver) {
        let writers = Arc::new(tokio::sync::Semaphore::new(WRITERS));
        loop {
            let first = tokio::select! {
                biased;
                m = rx.rx.recv() => m,
                _ = self.shutdown.cancelled() => None,
            };
            let Some(first) = first else {
                rx.rx.close();
                // Batches being written finish first.
                let _all = writers.acquire_many(WRITERS as u32).await;
                let mut rest = Vec::new();
                while let Ok(group) = rx.rx.try_recv() {
                    rest.extend(rx.took(group));
                }
                self.flush_all(rest).await;
                return;
            };
            // While every writer is busy the queue fills, and the next batch
            // is larger.
            let Ok(permit) = writers.clone().acquire_owned().await else {
                return;
            };
            // Writes queued by tasks woken together land in one batch.
            tokio::task::yield_now().await;
            let first = rx.took(first);
            // Sized once: at most one group more than a batch.
            let mut batch = Vec::with_capacity((first.len() + rx.backlog()).min(BATCH + GROUP));
            batch.extend(first);
            while batch.len() < BATCH
                && let Ok(group) = rx.rx.try_recv()
            {
                batch.extend(rx.took(group));
            }
            metrics::write_backlog(rx.backlog());
            let me = self.clone();
            tokio::spawn(async move {
                me.flush_all(batch).await;
                drop(permit);
            });
        }
    }

    /// Writes `writes` in store calls of at most [`BATCH`].
    async fn flush_all(&self, mut writes: Vec<Queued>) {
        while !writes.is_empty() {
            let tail = writes.split_off(writes.len().min(BATCH));
            self.flush(std::mem::replace(&mut writes, tail)).await;
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
                let mut applied = metrics::Tally::new();
                for ((finished, reply), outcome) in rest.into_iter().zip(outcomes) {
                    if outcome == UpdateOutcome::Applied
                        && let Some(status) = finished
                    {
                        applied.add(status);
                    }
                    if let Some(reply) = reply {
                        let _ = reply.send(Ok(outcome));
                    }
                }
                applied.record(metrics::finished_n);
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
