//! [`MysqlLeadership`]: leader election with `GET_LOCK` on a dedicated connection.
//!
//! A named lock belongs to the connection that took it and is released when
//! that connection ends, so the campaign holds it on a connection of its own
//! (never one a pool could hand to someone else):
//!
//! ```text
//! not leading: every tick  SELECT GET_LOCK(key, 0)              1 -> leading
//! leading:     every tick  SELECT IS_USED_LOCK(key) = CONNECTION_ID()
//!                                                              not 1 -> not leading
//! any error or a query slower than lock_timeout / 3:
//!              publish false first, drop the connection, reconnect, compete again
//! release():   publish false, SELECT RELEASE_LOCK(key), stop
//! ```
//!
//! The connection has `wait_timeout` = `lock_timeout`, so the server drops a
//! hung or partitioned leader's connection, and its lock, after at most
//! `lock_timeout` of silence; another instance, retrying every heartbeat,
//! takes over within `lock_timeout` + one heartbeat. A leader that merely
//! crashed loses the lock at once (the server sees the socket close).
//!
//! The tick is `heartbeat_interval`, but never more than half of
//! `lock_timeout`: a live leader must talk to the server more often than
//! `wait_timeout`, or the server would drop its healthy connection. Each query
//! is bounded by a third of `lock_timeout`, so a leader cut off from the
//! server steps down before the server frees the lock for someone else.
//!
//! Lock names are server-wide, not per database: clusters sharing a server
//! need distinct `lock_key`s (at most 64 characters).

use crate::models::CountRow;
use crate::pool;
use crate::sql::Sql;
use async_trait::async_trait;
use diesel::QueryableByName;
use diesel_async::{AsyncMysqlConnection, SimpleAsyncConnection};
use scheduler_core::Leadership;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

/// Settings of [`MysqlLeadership`] (the `scheduler.*` keys of docs/reference/configuration.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MysqlLeadershipConfig {
    /// Name of the `GET_LOCK` lock (default `scheduler_leader_lock`).
    pub lock_key: String,
    /// How often the lock is re-checked or competed for (default 30 s).
    pub heartbeat_interval: Duration,
    /// How long a silent leader keeps the lock (default 30 s): the lock
    /// connection's `wait_timeout`.
    pub lock_timeout: Duration,
}

impl Default for MysqlLeadershipConfig {
    fn default() -> Self {
        Self {
            lock_key: "scheduler_leader_lock".to_owned(),
            heartbeat_interval: Duration::from_secs(30),
            lock_timeout: Duration::from_secs(30),
        }
    }
}

impl MysqlLeadershipConfig {
    /// Time between two checks of the lock.
    fn tick(&self) -> Duration {
        self.heartbeat_interval
            .min(self.lock_timeout / 2)
            .max(Duration::from_millis(10))
    }

    /// Bound on one query (or connect) on the lock connection.
    fn query_timeout(&self) -> Duration {
        (self.lock_timeout / 3).max(Duration::from_millis(100))
    }

    /// `wait_timeout` in whole seconds (the server's unit), at least 1.
    fn wait_timeout_secs(&self) -> u64 {
        let ms = self.lock_timeout.as_millis().max(1000);
        u64::try_from(ms.div_ceil(1000)).unwrap_or(u64::MAX)
    }
}

/// Leader election on MySQL/MariaDB: whoever holds `GET_LOCK(lock_key)` leads.
///
/// Cheap to clone (clones share the campaign). [`Leadership::start`] spawns
/// the campaign on the current tokio runtime; [`Leadership::release`], or
/// dropping the last clone, ends it and frees the lock.
#[derive(Clone)]
pub struct MysqlLeadership {
    inner: Arc<Handle>,
}

/// Owned by the handles only: dropping the last handle ends the campaign.
struct Handle {
    campaign: Arc<Inner>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        // Nobody can release any more: stop campaigning and free the lock.
        self.campaign.stopped.store(true, Ordering::SeqCst);
        self.campaign.tx.send_replace(false);
        self.campaign.wake.notify_one();
    }
}

impl std::ops::Deref for Handle {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.campaign
    }
}

/// Shared by the handles and the campaign task.
struct Inner {
    url: String,
    config: MysqlLeadershipConfig,
    tx: watch::Sender<bool>,
    stopped: AtomicBool,
    wake: Notify,
    connection_id: Mutex<Option<u64>>,
}

impl fmt::Debug for MysqlLeadership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MysqlLeadership")
            .field("lock_key", &self.inner.config.lock_key)
            .field("leader", &*self.inner.tx.borrow())
            .field("connection_id", &*lock(&self.inner.connection_id))
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain data behind these mutexes; a panic elsewhere leaves it usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn load<R>(conn: &mut AsyncMysqlConnection, q: Sql) -> diesel::QueryResult<Vec<R>>
where
    R: QueryableByName<diesel::mysql::Mysql> + Send + 'static,
{
    diesel_async::RunQueryDsl::load::<R>(q, conn).await
}

#[derive(QueryableByName)]
struct FlagRow {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    flag: Option<i64>,
}

impl MysqlLeadership {
    /// A contender for the lock on the server at `url` (the store's URL will do;
    /// the database part is not used by the lock). Nothing happens before
    /// [`Leadership::start`].
    pub fn new(url: impl Into<String>, config: MysqlLeadershipConfig) -> Self {
        Self {
            inner: Arc::new(Handle {
                campaign: Arc::new(Inner {
                    url: url.into(),
                    config,
                    tx: watch::Sender::new(false),
                    stopped: AtomicBool::new(false),
                    wake: Notify::new(),
                    connection_id: Mutex::new(None),
                }),
                task: Mutex::new(None),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &MysqlLeadershipConfig {
        &self.inner.config
    }

    /// The server's id (`CONNECTION_ID()`) of the current lock connection, if
    /// connected. Tests simulate a dead leader with `KILL <id>` from another
    /// connection.
    pub fn lock_connection_id(&self) -> Option<u64> {
        *lock(&self.inner.connection_id)
    }
}

impl Inner {
    /// Publishes the flag; after `release` it stays false.
    fn publish(&self, leading: bool) {
        self.tx.send_if_modified(|cur| {
            let next = leading && !self.stopped.load(Ordering::SeqCst);
            let changed = *cur != next;
            *cur = next;
            changed
        });
    }

    /// Waits `d` or until released; true when released.
    async fn pause(&self, d: Duration) -> bool {
        if self.stopped.load(Ordering::SeqCst) {
            return true;
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = self.wake.notified() => {}
        }
        self.stopped.load(Ordering::SeqCst)
    }

    async fn connect(&self) -> Result<(AsyncMysqlConnection, u64), String> {
        let mut conn = pool::establish(&self.url).await.map_err(|e| e.to_string())?;
        let secs = self.config.wait_timeout_secs();
        conn.batch_execute(&format!(
            "SET SESSION wait_timeout = {secs}, SESSION interactive_timeout = {secs}"
        ))
        .await
        .map_err(|e| e.to_string())?;
        let q = Sql::new("SELECT CAST(CONNECTION_ID() AS UNSIGNED) AS n");
        let id = load::<CountRow>(&mut conn, q)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .next()
            .map(|r| r.n)
            .ok_or("CONNECTION_ID() returned no row")?;
        Ok((conn, id))
    }

    /// Takes the lock (`leading == false`) or checks it is still ours.
    async fn step(&self, conn: &mut AsyncMysqlConnection, leading: bool) -> Result<bool, String> {
        let text = if leading {
            "SELECT CAST(IS_USED_LOCK(?) = CONNECTION_ID() AS SIGNED) AS flag"
        } else {
            "SELECT CAST(GET_LOCK(?, 0) AS SIGNED) AS flag"
        };
        let q = Sql::new(text).bind(self.config.lock_key.as_str());
        match tokio::time::timeout(self.config.query_timeout(), load::<FlagRow>(conn, q)).await {
            Ok(Ok(rows)) => Ok(rows.into_iter().next().and_then(|r| r.flag) == Some(1)),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("lock query timed out".to_owned()),
        }
    }

    async fn campaign(self: Arc<Self>, instance_id: String) {
        let tick = self.config.tick();
        while !self.stopped.load(Ordering::SeqCst) {
            let connected = tokio::time::timeout(self.config.query_timeout(), self.connect()).await;
            let (mut conn, id) = match connected {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => {
                    self.publish(false);
                    tracing::warn!(%instance_id, error = %e, "leader lock connection failed");
                    if self.pause(tick).await {
                        break;
                    }
                    continue;
                }
                Err(_) => {
                    self.publish(false);
                    tracing::warn!(%instance_id, "leader lock connection timed out");
                    if self.pause(tick).await {
                        break;
                    }
                    continue;
                }
            };
            *lock(&self.connection_id) = Some(id);
            let mut leading = false;
            loop {
                match self.step(&mut conn, leading).await {
                    Ok(now) => {
                        if now != leading {
                            tracing::info!(%instance_id, leader = now, "leadership changed");
                        }
                        leading = now;
                        self.publish(now);
                    }
                    Err(e) => {
                        // Stop firing first, then deal with the connection.
                        self.publish(false);
                        if leading {
                            tracing::warn!(%instance_id, error = %e, "lost the leader lock connection");
                        } else {
                            tracing::debug!(%instance_id, error = %e, "leader lock connection failed");
                        }
                        break;
                    }
                }
                if self.pause(tick).await {
                    self.publish(false);
                    if leading {
                        let q = Sql::new("SELECT CAST(RELEASE_LOCK(?) AS SIGNED) AS flag")
                            .bind(self.config.lock_key.as_str());
                        let released =
                            tokio::time::timeout(self.config.query_timeout(), load::<FlagRow>(&mut conn, q)).await;
                        if !matches!(released, Ok(Ok(_))) {
                            tracing::debug!(%instance_id, "RELEASE_LOCK failed; closing the connection frees the lock");
                        }
                    }
                    *lock(&self.connection_id) = None;
                    return;
                }
            }
            *lock(&self.connection_id) = None;
            drop(conn);
            // Not in a tight loop when every attempt fails the same way.
            if self.pause(tick).await {
                break;
            }
        }
        self.publish(false);
    }
}

#[async_trait]
impl Leadership for MysqlLeadership {
    async fn start(&self, instance_id: &str) {
        let mut task = lock(&self.inner.task);
        if task.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        self.inner.stopped.store(false, Ordering::SeqCst);
        let campaign = self.inner.campaign.clone();
        *task = Some(tokio::spawn(campaign.campaign(instance_id.to_owned())));
    }

    fn subscribe(&self) -> watch::Receiver<bool> {
        self.inner.tx.subscribe()
    }

    async fn release(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        self.inner.tx.send_replace(false);
        self.inner.wake.notify_one();
        let task = lock(&self.inner.task).take();
        if let Some(mut task) = task {
            // The campaign releases the lock and returns within one query timeout.
            let limit = self.inner.config.query_timeout() * 2;
            if tokio::time::timeout(limit, &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}
