//! [`MysqlStore`]: the [`Store`] on MySQL/MariaDB.
//!
//! Every race is decided by the database, never by a read followed by a
//! write in this process:
//!
//! - **Uniqueness** by unique keys: a live task name (`uq_tasks_live_name` on a
//!   generated column that is NULL for deleted tasks), an executor's
//!   `instance_id`, and a scheduled fire `(fire_key, task_id)` where `fire_key`
//!   is set only by [`Store::claim_fire`]. A duplicate-key error becomes
//!   `NameTaken`, `InstanceTaken` or `AlreadyFired`.
//! - **Claiming a fire** in one round trip: the `claim_fire` stored procedure
//!   (migration `2026-11-24-000002_claim_fire_procedure`) locks the task row,
//!   sets its `next_run_time` if it is active and inserts the execution with
//!   its `fire_key`, in one transaction that any error rolls back.
//! - **Compare-and-set on executions** by a conditional `UPDATE` whose `WHERE`
//!   holds the guard (status, attempt, dispatched-ness) and the row's
//!   `row_version`, which every write bumps. One matched row means the guard
//!   held on exactly the row version the new row was computed from, so the
//!   updated execution is built here without reading it back; and because the
//!   version always changes, "affected rows" means the same whether the server
//!   counts matched or changed rows (diesel-async sets `CLIENT_FOUND_ROWS`, so
//!   it counts matched rows). A small cache of recently written executions
//!   supplies the expected version, so a compare-and-set by the instance that
//!   wrote the row last is a single statement; otherwise the row is read
//!   first (and re-read if another writer got in between).
//! - **Read-modify-write of one row** (executor health, registration, task
//!   updates) in a transaction that reads with `SELECT ... FOR UPDATE`.
//! - **Load-balancer state** by a versioned conditional `UPDATE` (or an
//!   `INSERT` that must not find a row).
//!
//! Any failure to reach the database is `StoreError::Unavailable`; the pool
//! drops a connection whose operation failed that way and pings its older
//! idle connections before reuse, so calls succeed again as soon as the
//! server is back.

mod alerts;
mod batch;
mod cache;
mod connect;
mod executions;
mod executors;
mod instances;
mod lb;
mod stats;
mod tasks;

use crate::models::*;
use crate::pool::{self, Conn, Health, Manager, Pool, duplicate_key, is_foreign_key, is_retryable, unavailable};
use crate::sql::Sql;
use crate::{MIGRATIONS, MysqlError};
use async_trait::async_trait;
use cache::ExecutionCache;
use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::mysql::Mysql;
use diesel::result::Error as DieselError;
use diesel_async::{AsyncMigrationHarness, AsyncMysqlConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::MigrationHarness;
use scheduler_core::*;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How a [`MysqlStore`] connects.
#[derive(Clone, Debug)]
pub struct MysqlStoreOptions {
    /// Largest number of pooled connections (`database.max_connections`, default 10).
    pub max_connections: u32,
    /// How long a call waits for a connection before it fails with
    /// `Unavailable` (default 5 s).
    pub connection_timeout: Duration,
    /// Run pending migrations when connecting (default true).
    pub run_migrations: bool,
    /// Executions remembered with their row version so that a
    /// compare-and-set needs no read first (default 65 536; 0 disables).
    pub execution_cache_capacity: usize,
    /// `history.max_log_bytes`: the most bytes of logs an execution keeps
    /// (default 65 536; see `scheduler_core::domain::logs`).
    pub max_log_bytes: usize,
}

impl Default for MysqlStoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            connection_timeout: Duration::from_secs(5),
            run_migrations: true,
            execution_cache_capacity: 65_536,
            max_log_bytes: logs::DEFAULT_MAX_LOG_BYTES,
        }
    }
}

/// A [`Store`] backed by MySQL or MariaDB through a connection pool.
///
/// Cheap to clone: clones share the pool. See the [crate docs](crate) for an example.
#[derive(Clone)]
pub struct MysqlStore {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    pool: Pool,
    health: Arc<Health>,
    connection_timeout: Duration,
    cache: Mutex<ExecutionCache>,
    max_log_bytes: usize,
}

impl fmt::Debug for MysqlStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.pool.state();
        f.debug_struct("MysqlStore")
            .field("connections", &state.connections)
            .field("idle_connections", &state.idle_connections)
            .finish_non_exhaustive()
    }
}

/// An error inside a store operation: a database error still to be mapped, or
/// the store error it already is.
enum Fail {
    Db(DieselError),
    Store(StoreError),
}

impl From<DieselError> for Fail {
    fn from(e: DieselError) -> Self {
        Fail::Db(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl Fail {
    /// The default mapping for database errors.
    fn into_store(self) -> StoreError {
        match self {
            Fail::Db(e) => unavailable(e),
            Fail::Store(e) => e,
        }
    }
}

type TxFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T, Fail>> + Send + 'c>>;

async fn exec(c: &mut AsyncMysqlConnection, q: Sql) -> Result<usize, Fail> {
    Ok(q.execute(c).await?)
}

async fn rows<R>(c: &mut AsyncMysqlConnection, q: Sql) -> Result<Vec<R>, Fail>
where
    R: QueryableByName<Mysql> + Send + 'static,
{
    Ok(q.load::<R>(c).await?)
}

async fn row<R>(c: &mut AsyncMysqlConnection, q: Sql) -> Result<Option<R>, Fail>
where
    R: QueryableByName<Mysql> + Send + 'static,
{
    Ok(rows::<R>(c, q).await?.into_iter().next())
}

fn cols(prefix: &str, cols: &str) -> String {
    cols.split(", ")
        .map(|c| format!("{prefix}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `%needle%` for `LIKE ... ESCAPE '!'`.
fn like_pattern(needle: &str) -> String {
    let mut p = String::with_capacity(needle.len() + 2);
    p.push('%');
    for ch in needle.chars() {
        if matches!(ch, '!' | '%' | '_') {
            p.push('!');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

impl MysqlStore {
    async fn conn(&self) -> StoreResult<Conn<'_>> {
        pool::get(&self.inner.pool, &self.inner.health).await
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, ExecutionCache> {
        // The cache is only a hint; a panic elsewhere cannot make it unsafe.
        self.inner.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs one statement outside a transaction.
    async fn exec(&self, q: Sql) -> Result<usize, Fail> {
        let mut c = self.conn().await?;
        let r = q.execute(c.begin()).await;
        Ok(c.settle(r)?)
    }

    /// Loads rows outside a transaction.
    async fn rows<R>(&self, q: Sql) -> StoreResult<Vec<R>>
    where
        R: QueryableByName<Mysql> + Send + 'static,
    {
        let mut c = self.conn().await?;
        let r = q.load::<R>(c.begin()).await;
        c.settle(r).map_err(unavailable)
    }

    async fn row<R>(&self, q: Sql) -> StoreResult<Option<R>>
    where
        R: QueryableByName<Mysql> + Send + 'static,
    {
        Ok(self.rows::<R>(q).await?.into_iter().next())
    }

    async fn count(&self, q: Sql) -> StoreResult<u64> {
        Ok(self.row::<CountRow>(q).await?.map_or(0, |r| r.n))
    }

    /// Runs `f` in a transaction, again (up to three times) when the server
    /// rolled it back for a deadlock or a lock-wait timeout.
    ///
    /// The `&'c &'a ()` argument only carries the bound `'a: 'c`, so the
    /// future may borrow both the connection and the caller's data.
    async fn tx<'a, T, F>(&self, f: F) -> Result<T, Fail>
    where
        T: Send,
        F: for<'c> Fn(&'c mut AsyncMysqlConnection, &'c &'a ()) -> TxFuture<'c, T> + Send + Sync + 'a,
    {
        let mut attempt = 0;
        loop {
            let mut c = self.conn().await?;
            let conn = c.begin();
            let r = async {
                conn.batch_execute("BEGIN").await?;
                match f(&mut *conn, &&()).await {
                    Ok(v) => {
                        conn.batch_execute("COMMIT").await?;
                        Ok(v)
                    }
                    Err(e) => {
                        conn.batch_execute("ROLLBACK").await?;
                        Err(e)
                    }
                }
            }
            .await;
            let r = match r {
                Ok(v) => c.settle(Ok(v)).map_err(Fail::Db),
                Err(Fail::Db(e)) => c.settle(Err(e)).map_err(Fail::Db),
                Err(Fail::Store(e)) => c.settle(Ok(())).map_err(Fail::Db).and(Err(Fail::Store(e))),
            };
            match r {
                Err(Fail::Db(e)) if is_retryable(&e) && attempt < 3 => {
                    attempt += 1;
                    tracing::debug!(attempt, error = %e, "retrying a transaction the server rolled back");
                }
                r => return r,
            }
        }
    }

    /// Page and total of a filtered query.
    async fn paged<R, T>(
        &self,
        select: Sql,
        count: Sql,
        page: Page,
        convert: impl Fn(R) -> StoreResult<T>,
    ) -> StoreResult<Paged<T>>
    where
        R: QueryableByName<Mysql> + Send + 'static,
    {
        let total = self.count(count).await?;
        let q = select
            .push(" LIMIT ? OFFSET ?")
            .bind(u64::from(page.page_size))
            .bind(page.offset());
        let items = self
            .rows::<R>(q)
            .await?
            .into_iter()
            .map(convert)
            .collect::<StoreResult<Vec<T>>>()?;
        Ok(Paged { items, total })
    }

    /// An execution as this store writes it: instants at millisecond
    /// precision, logs within `max_log_bytes`.
    pub(crate) fn as_stored(&self, e: &Execution) -> Execution {
        let mut e = normalize_execution(e);
        if let Some(l) = &e.logs {
            e.logs = Some(logs::bounded(l, self.inner.max_log_bytes));
        }
        e
    }

    pub(crate) fn max_log_bytes(&self) -> usize {
        self.inner.max_log_bytes
    }
}

// Each method forwards to an inherent method in the file of its resource
// (`tasks.rs`, `executors.rs`, `executions.rs`, `lb.rs`, `stats.rs`,
// `instances.rs`, `batch.rs`, `alerts.rs`): `_tx` names one that runs a
// transaction, `_q` one that runs single statements.
#[async_trait]
impl Store for MysqlStore {
    async fn ping(&self) -> StoreResult<()> {
        self.exec(Sql::new("DO 1")).await.map(drop).map_err(Fail::into_store)
    }

    // ---- tasks -------------------------------------------------------------

    async fn create_task(&self, task: &Task, executors: &[TaskExecutor]) -> StoreResult<Task> {
        self.create_task_tx(task, executors).await
    }

    async fn get_task(&self, id: &TaskId) -> StoreResult<Task> {
        self.get_task_q(id).await
    }

    async fn list_tasks(&self, filter: &TaskFilter, page: Page) -> StoreResult<Paged<Task>> {
        self.list_tasks_q(filter, page).await
    }

    async fn update_task(&self, task: &Task, executors: Option<&[TaskExecutor]>) -> StoreResult<Task> {
        self.update_task_tx(task, executors).await
    }

    async fn delete_task(&self, id: &TaskId, at: DateTime<Utc>) -> StoreResult<Task> {
        self.delete_task_tx(id, at).await
    }

    async fn active_tasks(&self) -> StoreResult<Vec<Task>> {
        self.active_tasks_q().await
    }

    async fn tasks_changed_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<Task>> {
        self.tasks_changed_since_q(since).await
    }

    async fn set_next_run_time(&self, id: &TaskId, next: Option<DateTime<Utc>>) -> StoreResult<()> {
        self.set_next_run_time_q(id, next).await
    }

    // ---- task executors ----------------------------------------------------

    async fn task_executors(&self, task_id: &TaskId) -> StoreResult<Vec<TaskExecutor>> {
        self.task_executors_q(task_id).await
    }

    async fn replace_task_executors(
        &self,
        task_id: &TaskId,
        executors: &[TaskExecutor],
    ) -> StoreResult<Vec<TaskExecutor>> {
        self.replace_task_executors_tx(task_id, executors).await
    }

    // ---- executors ---------------------------------------------------------

    async fn register_executor(&self, executor: &Executor) -> StoreResult<(Executor, Registered)> {
        self.register_executor_tx(executor).await
    }

    async fn get_executor(&self, id: &ExecutorId) -> StoreResult<Executor> {
        self.get_executor_q(id).await
    }

    async fn list_executors(&self, filter: &ExecutorFilter, page: Page) -> StoreResult<Paged<Executor>> {
        self.list_executors_q(filter, page).await
    }

    async fn all_executors(&self) -> StoreResult<Vec<Executor>> {
        self.all_executors_q().await
    }

    async fn update_executor(&self, executor: &Executor) -> StoreResult<Executor> {
        self.update_executor_tx(executor).await
    }

    async fn set_executor_status(
        &self,
        id: &ExecutorId,
        status: ExecutorStatus,
        at: DateTime<Utc>,
    ) -> StoreResult<Executor> {
        self.set_executor_status_tx(id, status, at).await
    }

    async fn record_health(
        &self,
        id: &ExecutorId,
        ok: bool,
        at: DateTime<Utc>,
        thresholds: HealthThresholds,
    ) -> StoreResult<Executor> {
        self.modify_executor(id, |e| thresholds.apply(e, ok, at)).await
    }

    async fn delete_executor(&self, id: &ExecutorId) -> StoreResult<()> {
        self.delete_executor_tx(id).await
    }

    async fn dispatch_candidates(&self, task_id: &TaskId) -> StoreResult<Vec<Candidate>> {
        self.dispatch_candidates_q(task_id).await
    }

    async fn dispatch_candidates_of(&self, tasks: &[TaskId]) -> StoreResult<Vec<Arc<[Candidate]>>> {
        self.candidates_of(tasks).await
    }

    async fn running_counts(&self, executors: &[ExecutorId]) -> StoreResult<HashMap<ExecutorId, u64>> {
        self.running_counts_q(executors).await
    }

    // ---- executions --------------------------------------------------------

    async fn claim_fire(&self, execution: &Execution, next_run_time: Option<DateTime<Utc>>) -> StoreResult<Execution> {
        self.claim_fire_q(execution, next_run_time).await
    }

    async fn claim_fires(&self, executions: &[Execution]) -> StoreResult<Vec<ClaimOutcome>> {
        self.claim_batch(executions).await
    }

    async fn last_fire_times(&self, tasks: &[TaskId]) -> StoreResult<HashMap<TaskId, DateTime<Utc>>> {
        self.last_fires(tasks).await
    }

    async fn insert_execution(&self, execution: &Execution) -> StoreResult<Execution> {
        self.insert_execution_q(execution).await
    }

    async fn get_execution(&self, id: &ExecutionId) -> StoreResult<Execution> {
        self.get_execution_q(id).await
    }

    async fn list_executions(
        &self,
        filter: &ExecutionFilter,
        from: &ListFrom,
        page_size: u32,
    ) -> StoreResult<ExecutionPage> {
        self.list_executions_q(filter, from, page_size).await
    }

    async fn update_execution(
        &self,
        id: &ExecutionId,
        guard: &ExecutionGuard,
        change: &ExecutionChange,
    ) -> StoreResult<Execution> {
        self.update_execution_q(id, guard, change).await
    }

    async fn update_executions(&self, updates: &[ExecutionUpdate]) -> StoreResult<Vec<UpdateOutcome>> {
        self.update_batch(updates).await
    }

    async fn task_activity(&self, task_id: &TaskId) -> StoreResult<TaskActivity> {
        self.task_activity_q(task_id).await
    }

    async fn due_executions(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Execution>> {
        self.due_executions_q(now, limit).await
    }

    async fn unanswered_executions(&self, limit: u32) -> StoreResult<Vec<Execution>> {
        self.unanswered_executions_q(limit).await
    }

    async fn overdue_executions(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Execution>> {
        self.overdue_executions_q(now, limit).await
    }

    // ---- load-balancer state -----------------------------------------------

    async fn lb_state(&self, task_id: &TaskId, strategy: &str) -> StoreResult<Option<LbState>> {
        self.lb_state_q(task_id, strategy).await
    }

    async fn put_lb_state(
        &self,
        task_id: &TaskId,
        strategy: &str,
        expected_version: Option<u64>,
        value: &serde_json::Value,
    ) -> StoreResult<()> {
        self.put_lb_state_q(task_id, strategy, expected_version, value).await
    }

    // ---- statistics --------------------------------------------------------

    async fn hourly_counts(
        &self,
        task_id: &TaskId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<HourlyCounts>> {
        self.hourly_counts_q(task_id, from, to).await
    }

    async fn purge_executions(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<u64> {
        self.purge_executions_q(before, limit).await
    }

    async fn purge_excess_executions(&self, keep: u64, limit: u32) -> StoreResult<u64> {
        self.purge_excess_executions_q(keep, limit).await
    }

    async fn purge_hourly_counts(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.purge_hourly_counts_q(before).await
    }

    async fn system_counts(&self) -> StoreResult<SystemCounts> {
        self.system_counts_q().await
    }

    // ---- scheduler instances -----------------------------------------------

    async fn upsert_instance(&self, instance: &SchedulerInstance) -> StoreResult<()> {
        self.upsert_instance_q(instance).await
    }

    async fn list_instances(&self) -> StoreResult<Vec<SchedulerInstance>> {
        self.list_instances_q().await
    }

    async fn remove_instance(&self, instance_id: &str) -> StoreResult<()> {
        self.remove_instance_q(instance_id).await
    }

    // ---- alert outbox (see `store/alerts.rs`) -------------------------------

    async fn enqueue_alert(
        &self,
        alert: &NewAlert,
        min_interval: Option<chrono::Duration>,
    ) -> StoreResult<AlertEnqueued> {
        self.enqueue_alert_tx(alert, min_interval).await
    }

    async fn due_alerts(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Alert>> {
        self.due_alerts_q(now, limit).await
    }

    async fn record_alert_attempt(&self, id: &str, attempt: &AlertAttempt) -> StoreResult<Alert> {
        self.record_alert_attempt_tx(id, attempt).await
    }

    async fn list_alerts(&self, since: DateTime<Utc>, page: Page) -> StoreResult<Paged<Alert>> {
        self.list_alerts_q(since, page).await
    }

    async fn alert_backlog(&self) -> StoreResult<u64> {
        self.alert_backlog_q().await
    }

    async fn purge_alerts(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.purge_alerts_q(before).await
    }
}
