//! Who fires: the [`Leadership`] trait.
//!
//! Every instance serves the API; only the leader fires scheduled tasks,
//! handles timeouts and retries, and probes executors. A leadership
//! implementation runs its own campaign (the MySQL one holds `GET_LOCK` on a
//! dedicated connection) and publishes the current answer on a
//! [`tokio::sync::watch`] channel. Losing leadership must be published
//! *before* anything else happens, so the engine stops firing at once.

use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// "Am I the leader now, and tell me when that changes."
#[async_trait]
pub trait Leadership: Send + Sync + 'static {
    /// Starts campaigning (idempotent). Called by the engine on start.
    async fn start(&self, instance_id: &str);

    /// A receiver of the current leadership flag.
    fn subscribe(&self) -> watch::Receiver<bool>;

    /// Whether this instance leads right now.
    fn is_leader(&self) -> bool {
        *self.subscribe().borrow()
    }

    /// Gives leadership up and stops campaigning (clean shutdown).
    async fn release(&self);
}

/// A single instance: always the leader.
#[derive(Debug)]
pub struct AlwaysLeader {
    tx: watch::Sender<bool>,
}

impl Default for AlwaysLeader {
    fn default() -> Self {
        Self {
            tx: watch::Sender::new(true),
        }
    }
}

#[async_trait]
impl Leadership for AlwaysLeader {
    async fn start(&self, _instance_id: &str) {
        self.tx.send_replace(true);
    }

    fn subscribe(&self) -> watch::Receiver<bool> {
        self.tx.subscribe()
    }

    async fn release(&self) {
        self.tx.send_replace(false);
    }
}

/// An in-process lock that several engines in one program compete for, like
/// MySQL's `GET_LOCK` does across processes. For tests and the cluster example.
#[derive(Clone, Debug, Default)]
pub struct LocalLock {
    holder: Arc<Mutex<Option<String>>>,
}

impl LocalLock {
    /// A free lock.
    pub fn new() -> Self {
        Self::default()
    }

    /// A contender for this lock that re-checks it every `interval`.
    pub fn contender(&self, interval: std::time::Duration) -> Arc<LocalLeadership> {
        Arc::new(LocalLeadership {
            inner: Arc::new(Contender {
                lock: self.clone(),
                me: Mutex::new(None),
                tx: watch::Sender::new(false),
            }),
            interval,
            task: Mutex::new(None),
        })
    }

    /// Which instance holds the lock.
    pub fn holder(&self) -> Option<String> {
        self.holder.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Takes the lock away from whoever holds it (simulates a dead leader
    /// connection); the holder learns it on its next check.
    pub fn break_lock(&self) {
        *self.holder.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// One engine's view of a [`LocalLock`].
#[derive(Debug)]
pub struct LocalLeadership {
    inner: Arc<Contender>,
    interval: std::time::Duration,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

#[derive(Debug)]
struct Contender {
    lock: LocalLock,
    me: Mutex<Option<String>>,
    tx: watch::Sender<bool>,
}

impl Contender {
    /// Tries to take the lock, or checks it is still ours; publishes the answer.
    fn campaign(&self) -> bool {
        let me = self.me.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(me) = me else { return false };
        let mut holder = self.lock.holder.lock().unwrap_or_else(|p| p.into_inner());
        let leading = match holder.as_deref() {
            None => {
                *holder = Some(me);
                true
            }
            Some(h) => h == me,
        };
        drop(holder);
        self.tx.send_if_modified(|v| std::mem::replace(v, leading) != leading);
        leading
    }
}

impl LocalLeadership {
    /// Tries to take the lock, or checks it is still ours, now.
    pub fn campaign(&self) -> bool {
        self.inner.campaign()
    }
}

#[async_trait]
impl Leadership for LocalLeadership {
    async fn start(&self, instance_id: &str) {
        *self.inner.me.lock().unwrap_or_else(|p| p.into_inner()) = Some(instance_id.to_owned());
        self.inner.campaign();
        let weak = Arc::downgrade(&self.inner);
        let interval = self.interval;
        let handle = tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                match weak.upgrade() {
                    Some(c) => {
                        c.campaign();
                    }
                    None => return,
                }
            }
        });
        if let Some(old) = self.task.lock().unwrap_or_else(|p| p.into_inner()).replace(handle) {
            old.abort();
        }
    }

    fn subscribe(&self) -> watch::Receiver<bool> {
        self.inner.tx.subscribe()
    }

    async fn release(&self) {
        if let Some(task) = self.task.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
        let me = self.inner.me.lock().unwrap_or_else(|p| p.into_inner()).take();
        self.inner.tx.send_replace(false);
        let mut holder = self.inner.lock.holder.lock().unwrap_or_else(|p| p.into_inner());
        if holder.is_some() && *holder == me {
            *holder = None;
        }
    }
}
