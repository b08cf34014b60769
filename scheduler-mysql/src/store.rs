//! [`MysqlStore`]: the [`Store`] on MySQL/MariaDB.
//!
//! Every race is decided by the database, never by a read followed by a
//! write in this process:
//!
//! - **Uniqueness** by unique keys: a live task name (`uq_tasks_live_name` on a
//!   generated column that is NULL for deleted tasks), an executor's
//!   `instance_id`, and a scheduled fire `(task_id, fire_key)` where `fire_key`
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

mod batch;

use crate::models::*;
use crate::pool::{self, Conn, Health, Manager, Pool, duplicate_key, is_foreign_key, is_retryable, unavailable};
use crate::sql::Sql;
use crate::{MIGRATIONS, MysqlError};
use async_trait::async_trait;
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

/// Recently written executions with their `row_version`: the expected version
/// of the next compare-and-set. Only a hint: a stale entry makes the
/// conditional `UPDATE` match nothing and the slow path runs.
struct ExecutionCache {
    map: HashMap<ExecutionId, (Execution, u64)>,
    capacity: usize,
}

impl ExecutionCache {
    fn get(&self, id: &ExecutionId) -> Option<(Execution, u64)> {
        self.map.get(id).cloned()
    }

    fn put(&mut self, e: &Execution, version: u64) {
        if e.status.is_final() || self.capacity == 0 {
            // Final executions are never updated again.
            self.map.remove(&e.id);
            return;
        }
        if self.map.len() >= self.capacity
            && !self.map.contains_key(&e.id)
            && let Some(k) = self.map.keys().next().cloned()
        {
            self.map.remove(&k);
        }
        self.map.insert(e.id.clone(), (e.clone(), version));
    }

    fn remove(&mut self, id: &ExecutionId) {
        self.map.remove(id);
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

#[derive(QueryableByName)]
#[diesel(table_name = crate::schema::tasks)]
struct TaskStatusRow {
    status: String,
    created_at: chrono::NaiveDateTime,
}

#[derive(QueryableByName)]
struct ActivityRow {
    #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::BigInt>)]
    pending: u64,
    #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::BigInt>)]
    running: u64,
}

#[derive(QueryableByName)]
struct LockRow {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    db: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    locked: Option<i64>,
}

impl MysqlStore {
    /// Connects with [`MysqlStoreOptions::default`] but `max_connections`, and
    /// applies pending migrations.
    ///
    /// Needs a multi-thread tokio runtime (the migration harness blocks).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, MysqlError> {
        Self::connect_with(
            url,
            MysqlStoreOptions {
                max_connections,
                ..MysqlStoreOptions::default()
            },
        )
        .await
    }

    /// Connects with explicit options; migrates when `options.run_migrations`.
    pub async fn connect_with(url: &str, options: MysqlStoreOptions) -> Result<Self, MysqlError> {
        if options.run_migrations {
            migrate_url(url, options.connection_timeout).await?;
        } else {
            // Fail fast on a bad URL or an unreachable server.
            drop(establish_dedicated(url, options.connection_timeout).await?);
        }
        let health = Arc::new(Health::default());
        let manager = Manager::new(url.to_owned(), health.clone());
        let pool = bb8::Pool::builder()
            .max_size(options.max_connections.max(1))
            .connection_timeout(options.connection_timeout)
            // Validity is tracked per operation instead of a query per checkout.
            .test_on_check_out(false)
            // While the server is down a failed connect fails the waiting
            // callers at once (see `pool::get`); they retry later.
            .retry_connection(false)
            .build_unchecked(manager);
        Ok(Self {
            inner: Arc::new(Inner {
                url: url.to_owned(),
                pool,
                health,
                connection_timeout: options.connection_timeout,
                cache: Mutex::new(ExecutionCache {
                    map: HashMap::new(),
                    capacity: options.execution_cache_capacity,
                }),
                max_log_bytes: options.max_log_bytes,
            }),
        })
    }

    /// Applies pending migrations (idempotent; serialized across processes by
    /// a named lock, so several instances may start at once).
    pub async fn migrate(&self) -> Result<(), MysqlError> {
        migrate_url(&self.inner.url, self.inner.connection_timeout).await
    }

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

    async fn load_executions(&self, q: Sql) -> StoreResult<Vec<Execution>> {
        let rows = self.rows::<ExecutionRow>(q).await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut cached = Vec::with_capacity(rows.len());
        for r in rows {
            let (e, v) = r.into_execution()?;
            cached.push((e.clone(), v));
            out.push(e);
        }
        let mut cache = self.cache();
        for (e, v) in &cached {
            cache.put(e, *v);
        }
        Ok(out)
    }

    /// Reads an executor for update, lets `f` change it, writes it back.
    async fn modify_executor<F>(&self, id: &ExecutorId, f: F) -> StoreResult<Executor>
    where
        F: Fn(&mut Executor) + Send + Sync,
    {
        let f = &f;
        self.tx(|c, _| {
            Box::pin(async move {
                let q = Sql::new(format!("SELECT {EXECUTOR_COLS} FROM executors WHERE id = ? FOR UPDATE"))
                    .bind(id.as_str());
                let mut e = row::<ExecutorRow>(c, q)
                    .await?
                    .ok_or_else(|| StoreError::executor_not_found(id))?
                    .into_executor()?;
                f(&mut e);
                let e = normalize_executor(&e);
                exec(c, update_executor_sql(&e)?).await?;
                Ok(e)
            })
        })
        .await
        .map_err(Fail::into_store)
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

    /// Deletes the final executions whose ids `select` answers (column
    /// `id`), by primary key and re-checking the status; answers how many went.
    async fn delete_final(&self, select: Sql) -> StoreResult<u64> {
        let ids = self.rows::<IdRow>(select).await?;
        if ids.is_empty() {
            return Ok(0);
        }
        let mut q = Sql::new("DELETE FROM task_executions WHERE status NOT IN ('pending', 'running') AND id IN ");
        q.push_in_list(ids.iter().map(|r| r.id.as_str()), false);
        let n = self.exec(q).await.map_err(Fail::into_store)?;
        for r in &ids {
            self.cache().remove(&ExecutionId::new(&r.id));
        }
        Ok(n as u64)
    }

    /// Slow path of `update_execution`: read the row, check the guard, write
    /// against the version read; again if another writer got in between.
    async fn update_execution_slow(
        &self,
        id: &ExecutionId,
        guard: &ExecutionGuard,
        change: &ExecutionChange,
    ) -> StoreResult<Execution> {
        for _ in 0..16 {
            let q = Sql::new(format!("SELECT {EXECUTION_COLS} FROM task_executions WHERE id = ?")).bind(id.as_str());
            let (current, version) = self
                .row::<ExecutionRow>(q)
                .await?
                .ok_or_else(|| StoreError::execution_not_found(id))?
                .into_execution()?;
            if !guard.matches(&current) {
                self.cache().put(&current, version);
                return Err(guard_conflict(&current));
            }
            if let Some(next) = self.try_update_execution(&current, version, guard, change).await? {
                return Ok(next);
            }
        }
        Err(StoreError::Conflict(format!(
            "execution {id} keeps changing under concurrent updates"
        )))
    }

    /// One conditional `UPDATE` against `(current, version)`; `Ok(None)` when
    /// the row is no longer at that version.
    async fn try_update_execution(
        &self,
        current: &Execution,
        version: u64,
        guard: &ExecutionGuard,
        change: &ExecutionChange,
    ) -> StoreResult<Option<Execution>> {
        let max_log = self.inner.max_log_bytes;
        let q = update_execution_sql(&current.id, version, guard, change, max_log)?;
        match self.exec(q).await {
            Ok(1) => {
                let mut next = current.clone();
                change.apply_bounded(&mut next, max_log);
                self.cache().put(&next, version + 1);
                Ok(Some(next))
            }
            Ok(_) => {
                self.cache().remove(&current.id);
                Ok(None)
            }
            Err(e) => {
                self.cache().remove(&current.id);
                Err(e.into_store())
            }
        }
    }
}

fn already_fired(e: &Execution) -> StoreError {
    StoreError::AlreadyFired {
        task_id: e.task_id.clone(),
        scheduled_time: e.scheduled_time,
    }
}

fn guard_conflict(e: &Execution) -> StoreError {
    StoreError::Conflict(format!(
        "execution {} is {} (attempt {})",
        e.id,
        e.status.as_str(),
        e.retry_count
    ))
}

/// Opens a connection of its own (not from the pool), within `timeout`.
pub(crate) async fn establish_dedicated(url: &str, timeout: Duration) -> Result<AsyncMysqlConnection, MysqlError> {
    match tokio::time::timeout(timeout, pool::establish(url)).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(diesel::ConnectionError::InvalidConnectionUrl(m))) => Err(MysqlError::InvalidUrl(m)),
        Ok(Err(e)) => Err(MysqlError::Unreachable(e.to_string())),
        Err(_) => Err(MysqlError::Unreachable(format!(
            "no connection within {} ms",
            timeout.as_millis()
        ))),
    }
}

async fn migrate_url(url: &str, timeout: Duration) -> Result<(), MysqlError> {
    let flavor = tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()).ok();
    if flavor != Some(tokio::runtime::RuntimeFlavor::MultiThread) {
        return Err(MysqlError::Migration(
            "migrations need a multi-thread tokio runtime (the migration harness blocks)".into(),
        ));
    }
    let mut conn = establish_dedicated(url, timeout).await?;
    // Instances starting together must not run the same migration twice.
    // Lock names are server-wide, hence the database name in it.
    let lock = "CONCAT('scheduler_mysql_migrations.', DATABASE())";
    let got = Sql::new(format!(
        "SELECT DATABASE() AS db, CAST(GET_LOCK({lock}, 60) AS SIGNED) AS locked"
    ))
    .load::<LockRow>(&mut conn)
    .await
    .map_err(|e| MysqlError::Unreachable(e.to_string()))?
    .into_iter()
    .next();
    match got {
        Some(LockRow { db: None, .. }) => {
            return Err(MysqlError::Migration("the database URL names no database".into()));
        }
        Some(LockRow { locked: Some(1), .. }) => {}
        _ => {
            return Err(MysqlError::Migration(
                "another process held the migration lock for 60 s".into(),
            ));
        }
    }
    let mut harness = AsyncMigrationHarness::new(conn);
    let result = harness
        .run_pending_migrations(MIGRATIONS)
        .map(|applied| applied.len())
        .map_err(|e| MysqlError::Migration(e.to_string()));
    let mut conn = harness.into_inner();
    // Closing the connection releases the lock too; this just does it sooner.
    let _ = conn.batch_execute(&format!("DO RELEASE_LOCK({lock})")).await;
    let applied = result?;
    if applied > 0 {
        tracing::info!(applied, "applied database migrations");
    }
    Ok(())
}

fn insert_task_sql(t: &Task) -> StoreResult<Sql> {
    Ok(Sql::new(
        "INSERT INTO tasks (id, name, cron_expression, timezone, parameters, execution_mode, \
         load_balance_strategy, max_retry, timeout_seconds, misfire_policy, status, next_run_time, \
         created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(t.id.as_str())
    .bind(&t.name)
    .bind(&t.cron_expression)
    .bind(&t.timezone)
    .bind(json_text(t.parameters.as_ref())?)
    .bind(t.execution_mode.as_str())
    .bind(t.load_balance_strategy.as_str())
    .bind(t.max_retry)
    .bind(t.timeout_seconds)
    .bind(t.misfire_policy.as_str())
    .bind(t.status.as_str())
    .bind(db_time_opt(t.next_run_time))
    .bind(db_time(t.created_at))
    .bind(db_time(t.updated_at)))
}

fn update_task_sql(t: &Task) -> StoreResult<Sql> {
    Ok(Sql::new(
        "UPDATE tasks SET name = ?, cron_expression = ?, timezone = ?, parameters = ?, execution_mode = ?, \
         load_balance_strategy = ?, max_retry = ?, timeout_seconds = ?, misfire_policy = ?, status = ?, \
         next_run_time = ?, updated_at = ? WHERE id = ?",
    )
    .bind(&t.name)
    .bind(&t.cron_expression)
    .bind(&t.timezone)
    .bind(json_text(t.parameters.as_ref())?)
    .bind(t.execution_mode.as_str())
    .bind(t.load_balance_strategy.as_str())
    .bind(t.max_retry)
    .bind(t.timeout_seconds)
    .bind(t.misfire_policy.as_str())
    .bind(t.status.as_str())
    .bind(db_time_opt(t.next_run_time))
    .bind(db_time(t.updated_at))
    .bind(t.id.as_str()))
}

fn insert_executor_sql(e: &Executor) -> StoreResult<Sql> {
    Ok(Sql::new(format!(
        "INSERT INTO executors ({EXECUTOR_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(e.id.as_str())
    .bind(&e.name)
    .bind(&e.instance_id)
    .bind(&e.base_url)
    .bind(e.health_check_url.clone())
    .bind(e.status.as_str())
    .bind(e.is_healthy)
    .bind(db_time_opt(e.last_health_check))
    .bind(e.health_check_failures)
    .bind(e.health_check_successes)
    .bind(json_text(e.metadata.as_ref())?)
    .bind(db_time(e.created_at))
    .bind(db_time(e.updated_at)))
}

fn update_executor_sql(e: &Executor) -> StoreResult<Sql> {
    Ok(Sql::new(
        "UPDATE executors SET name = ?, base_url = ?, health_check_url = ?, status = ?, is_healthy = ?, \
         last_health_check = ?, health_check_failures = ?, health_check_successes = ?, metadata = ?, \
         updated_at = ? WHERE id = ?",
    )
    .bind(&e.name)
    .bind(&e.base_url)
    .bind(e.health_check_url.clone())
    .bind(e.status.as_str())
    .bind(e.is_healthy)
    .bind(db_time_opt(e.last_health_check))
    .bind(e.health_check_failures)
    .bind(e.health_check_successes)
    .bind(json_text(e.metadata.as_ref())?)
    .bind(db_time(e.updated_at))
    .bind(e.id.as_str()))
}

/// `INSERT` of an execution (not a claimed fire: `fire_key` stays NULL).
fn insert_execution_sql(e: &Execution) -> StoreResult<Sql> {
    bind_execution(
        Sql::new(format!(
            "INSERT INTO task_executions ({EXECUTION_COLS}) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)"
        )),
        e,
    )
}

/// `CALL claim_fire(...)` (migration `..._claim_fire_procedure`).
fn claim_fire_sql(e: &Execution, next_run_time: Option<DateTime<Utc>>) -> StoreResult<Sql> {
    let q = Sql::new("CALL claim_fire(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    Ok(bind_execution(q, e)?.bind(db_time_opt(next_run_time)))
}

/// Binds an execution's columns in `EXECUTION_COLS` order, without `row_version`.
fn bind_execution(q: Sql, e: &Execution) -> StoreResult<Sql> {
    Ok(q.bind(e.id.as_str())
        .bind(e.task_id.as_str())
        .bind(e.executor_id.as_ref().map(|x| x.as_str().to_owned()))
        .bind(e.trigger_type.as_str())
        .bind(db_time(e.scheduled_time))
        .bind(db_time_opt(e.start_time))
        .bind(db_time_opt(e.end_time))
        .bind(e.status.as_str())
        .bind(json_text(e.parameters.as_ref())?)
        .bind(json_text(e.result.as_ref())?)
        .bind(e.logs.clone())
        .bind(e.retry_count)
        .bind(db_time(e.created_at))
        .bind(db_time_opt(e.dispatched_at))
        .bind(db_time_opt(e.next_attempt_at))
        .bind(db_time_opt(e.timeout_at))
        .bind(e.callback_token.clone()))
}

/// The compare-and-set `UPDATE` of an execution at `version` under `guard`.
fn update_execution_sql(
    id: &ExecutionId,
    version: u64,
    guard: &ExecutionGuard,
    change: &ExecutionChange,
    max_log_bytes: usize,
) -> StoreResult<Sql> {
    let mut q = Sql::new("UPDATE task_executions SET row_version = row_version + 1");
    if let Some(v) = change.status {
        q.push_mut(", status = ?");
        q.bind_mut(v.as_str());
    }
    if let Some(v) = &change.executor_id {
        q.push_mut(", executor_id = ?");
        q.bind_mut(v.as_ref().map(|x| x.as_str().to_owned()));
    }
    if let Some(v) = change.start_time {
        q.push_mut(", start_time = ?");
        q.bind_mut(db_time_opt(v));
    }
    if let Some(v) = change.end_time {
        q.push_mut(", end_time = ?");
        q.bind_mut(db_time_opt(v));
    }
    if let Some(v) = &change.result {
        q.push_mut(", result = ?");
        q.bind_mut(json_text(v.as_ref())?);
    }
    if let Some(line) = &change.append_log {
        // Appended and bounded by the database (see the history migration).
        q.push_mut(", logs = scheduler_log_append(logs, ?, ?)");
        q.bind_mut(line);
        q.bind_mut(max_log_bytes as u64);
    }
    if let Some(v) = change.retry_count {
        q.push_mut(", retry_count = ?");
        q.bind_mut(v);
    }
    if let Some(v) = change.dispatched_at {
        q.push_mut(", dispatched_at = ?");
        q.bind_mut(db_time_opt(v));
    }
    if let Some(v) = change.next_attempt_at {
        q.push_mut(", next_attempt_at = ?");
        q.bind_mut(db_time_opt(v));
    }
    if let Some(v) = change.timeout_at {
        q.push_mut(", timeout_at = ?");
        q.bind_mut(db_time_opt(v));
    }
    if let Some(v) = &change.callback_token {
        q.push_mut(", callback_token = ?");
        q.bind_mut(v.clone());
    }
    q.push_mut(" WHERE id = ? AND row_version = ?");
    q.bind_mut(id.as_str());
    q.bind_mut(version);
    push_guard(&mut q, guard);
    Ok(q)
}

/// Appends ` AND <guard>` on the row's status, attempt and dispatched-ness.
fn push_guard(q: &mut Sql, guard: &ExecutionGuard) {
    q.push_mut(" AND status IN ");
    // A final status never matches, whatever the guard lists.
    let mut statuses: Vec<&str> = guard
        .status_in
        .iter()
        .filter(|s| !s.is_final())
        .map(|s| s.as_str())
        .collect();
    statuses.sort_unstable();
    statuses.dedup();
    if statuses.is_empty() {
        q.push_mut("(NULL)");
    } else {
        q.push_in_list(statuses, true);
    }
    if let Some(n) = guard.retry_count {
        q.push_mut(" AND retry_count = ?");
        q.bind_mut(n);
    }
    match guard.dispatched {
        Some(true) => q.push_mut(" AND dispatched_at IS NOT NULL"),
        Some(false) => q.push_mut(" AND dispatched_at IS NULL"),
        None => {}
    }
}

/// Inserts `executors` as the assignments of `task_id` (none is fine).
async fn insert_assignments(
    c: &mut AsyncMysqlConnection,
    task_id: &TaskId,
    executors: &[TaskExecutor],
) -> Result<(), Fail> {
    if executors.is_empty() {
        return Ok(());
    }
    let mut q = Sql::new("INSERT INTO task_executors (task_id, executor_id, weight, priority) VALUES ");
    for (i, a) in executors.iter().enumerate() {
        q.push_mut(if i == 0 { "(?, ?, ?, ?)" } else { ", (?, ?, ?, ?)" });
        q.bind_mut(task_id.as_str());
        q.bind_mut(a.executor_id.as_str());
        q.bind_mut(a.weight);
        q.bind_mut(a.priority);
    }
    if executors.len() > 8 {
        // One prepared statement per list length is fine for short lists only.
        q.uncacheable();
    }
    match exec(c, q).await {
        Ok(_) => Ok(()),
        Err(Fail::Db(e)) if is_foreign_key(&e) => Err(missing_executor(c, executors).await),
        Err(Fail::Db(e)) if duplicate_key(&e).is_some() => Err(Fail::Store(StoreError::Conflict(
            "an executor is assigned twice".into(),
        ))),
        Err(e) => Err(e),
    }
}

/// The `NotFound` for the first assigned executor that does not exist.
async fn missing_executor(c: &mut AsyncMysqlConnection, executors: &[TaskExecutor]) -> Fail {
    let mut q = Sql::new("SELECT id FROM executors WHERE id IN ");
    q.push_in_list(executors.iter().map(|a| a.executor_id.as_str()), executors.len() <= 8);
    match rows::<IdRow>(c, q).await {
        Ok(found) => {
            let found: std::collections::HashSet<String> = found.into_iter().map(|r| r.id).collect();
            match executors.iter().find(|a| !found.contains(a.executor_id.as_str())) {
                Some(a) => Fail::Store(StoreError::executor_not_found(&a.executor_id)),
                None => Fail::Store(StoreError::Conflict(
                    "an assigned executor was removed concurrently".into(),
                )),
            }
        }
        Err(e) => e,
    }
}

#[async_trait]
impl Store for MysqlStore {
    async fn ping(&self) -> StoreResult<()> {
        self.exec(Sql::new("DO 1")).await.map(drop).map_err(Fail::into_store)
    }

    // ---- tasks -------------------------------------------------------------

    async fn create_task(&self, task: &Task, executors: &[TaskExecutor]) -> StoreResult<Task> {
        let t = normalize_task(task);
        let insert = insert_task_sql(&t)?;
        let (insert, t_ref) = (&insert, &t);
        let r = self
            .tx(|c, _| {
                Box::pin(async move {
                    exec(c, insert.clone()).await?;
                    insert_assignments(c, &t_ref.id, executors).await
                })
            })
            .await;
        match r {
            Ok(()) => Ok(t),
            Err(Fail::Db(e)) => Err(match duplicate_key(&e) {
                Some("uq_tasks_live_name") => StoreError::NameTaken(t.name.clone()),
                Some("PRIMARY") => StoreError::Conflict(format!("task {} already exists", t.id)),
                _ => unavailable(e),
            }),
            Err(Fail::Store(e)) => Err(e),
        }
    }

    async fn get_task(&self, id: &TaskId) -> StoreResult<Task> {
        let q = Sql::new(format!("SELECT {TASK_COLS} FROM tasks WHERE id = ?")).bind(id.as_str());
        self.row::<TaskRow>(q)
            .await?
            .ok_or_else(|| StoreError::task_not_found(id))?
            .into_task()
    }

    async fn list_tasks(&self, filter: &TaskFilter, page: Page) -> StoreResult<Paged<Task>> {
        let mut cond = Sql::new(" WHERE ");
        match filter.status {
            Some(s) => {
                cond.push_mut("status = ?");
                cond.bind_mut(s.as_str());
            }
            None => cond.push_mut("status <> 'deleted'"),
        }
        if let Some(n) = &filter.name {
            cond.push_mut(" AND name LIKE ? ESCAPE '!'");
            cond.bind_mut(like_pattern(n));
        }
        let select = Sql::new(format!("SELECT {TASK_COLS} FROM tasks"))
            .append(&cond)
            .push(" ORDER BY created_at DESC, id DESC");
        let count = Sql::new("SELECT CAST(COUNT(*) AS UNSIGNED) AS n FROM tasks").append(&cond);
        self.paged(select, count, page, TaskRow::into_task).await
    }

    async fn update_task(&self, task: &Task, executors: Option<&[TaskExecutor]>) -> StoreResult<Task> {
        let mut t = normalize_task(task);
        let update = update_task_sql(&t)?;
        let (update, id) = (&update, &task.id);
        let r = self
            .tx(|c, _| {
                Box::pin(async move {
                    let q = Sql::new("SELECT status, created_at FROM tasks WHERE id = ? FOR UPDATE").bind(id.as_str());
                    let stored = row::<TaskStatusRow>(c, q)
                        .await?
                        .ok_or_else(|| StoreError::task_not_found(id))?;
                    if stored.status == TaskStatus::Deleted.as_str() {
                        return Err(Fail::Store(StoreError::Conflict(format!("task {id} is deleted"))));
                    }
                    exec(c, update.clone()).await?;
                    if let Some(list) = executors {
                        exec(
                            c,
                            Sql::new("DELETE FROM task_executors WHERE task_id = ?").bind(id.as_str()),
                        )
                        .await?;
                        insert_assignments(c, id, list).await?;
                    }
                    Ok(stored.created_at)
                })
            })
            .await;
        match r {
            Ok(created_at) => {
                t.created_at = created_at.and_utc();
                Ok(t)
            }
            Err(Fail::Db(e)) => Err(match duplicate_key(&e) {
                Some("uq_tasks_live_name") => StoreError::NameTaken(t.name.clone()),
                _ => unavailable(e),
            }),
            Err(Fail::Store(e)) => Err(e),
        }
    }

    async fn delete_task(&self, id: &TaskId, at: DateTime<Utc>) -> StoreResult<Task> {
        self.tx(|c, _| {
            Box::pin(async move {
                let q = Sql::new(format!("SELECT {TASK_COLS} FROM tasks WHERE id = ? FOR UPDATE")).bind(id.as_str());
                let mut t = row::<TaskRow>(c, q)
                    .await?
                    .ok_or_else(|| StoreError::task_not_found(id))?
                    .into_task()?;
                if t.status == TaskStatus::Deleted {
                    return Err(Fail::Store(StoreError::Conflict(format!(
                        "task {id} is already deleted"
                    ))));
                }
                t.status = TaskStatus::Deleted;
                t.next_run_time = None;
                t.updated_at = ms(at);
                let q = Sql::new("UPDATE tasks SET status = ?, next_run_time = NULL, updated_at = ? WHERE id = ?")
                    .bind(TaskStatus::Deleted.as_str())
                    .bind(db_time(at))
                    .bind(id.as_str());
                exec(c, q).await?;
                Ok(t)
            })
        })
        .await
        .map_err(Fail::into_store)
    }

    async fn active_tasks(&self) -> StoreResult<Vec<Task>> {
        let q = Sql::new(format!("SELECT {TASK_COLS} FROM tasks WHERE status = ? ORDER BY id"))
            .bind(TaskStatus::Active.as_str());
        self.rows::<TaskRow>(q)
            .await?
            .into_iter()
            .map(TaskRow::into_task)
            .collect()
    }

    async fn tasks_changed_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<Task>> {
        let q = Sql::new(format!(
            "SELECT {TASK_COLS} FROM tasks WHERE updated_at >= ? ORDER BY updated_at, id"
        ))
        .bind(db_bound(since));
        self.rows::<TaskRow>(q)
            .await?
            .into_iter()
            .map(TaskRow::into_task)
            .collect()
    }

    async fn set_next_run_time(&self, id: &TaskId, next: Option<DateTime<Utc>>) -> StoreResult<()> {
        let q = Sql::new("UPDATE tasks SET next_run_time = ? WHERE id = ? AND status = ?")
            .bind(db_time_opt(next))
            .bind(id.as_str())
            .bind(TaskStatus::Active.as_str());
        self.exec(q).await.map(drop).map_err(Fail::into_store)
    }

    // ---- task executors ----------------------------------------------------

    async fn task_executors(&self, task_id: &TaskId) -> StoreResult<Vec<TaskExecutor>> {
        let exists = Sql::new("SELECT CAST(COUNT(*) AS UNSIGNED) AS n FROM tasks WHERE id = ?").bind(task_id.as_str());
        if self.count(exists).await? == 0 {
            return Err(StoreError::task_not_found(task_id));
        }
        let q =
            Sql::new("SELECT executor_id, weight, priority FROM task_executors WHERE task_id = ? ORDER BY executor_id")
                .bind(task_id.as_str());
        Ok(self
            .rows::<AssignmentRow>(q)
            .await?
            .into_iter()
            .map(AssignmentRow::into_assignment)
            .collect())
    }

    async fn replace_task_executors(
        &self,
        task_id: &TaskId,
        executors: &[TaskExecutor],
    ) -> StoreResult<Vec<TaskExecutor>> {
        self.tx(|c, _| {
            Box::pin(async move {
                let q = Sql::new("SELECT status, created_at FROM tasks WHERE id = ? FOR UPDATE").bind(task_id.as_str());
                let stored = row::<TaskStatusRow>(c, q)
                    .await?
                    .ok_or_else(|| StoreError::task_not_found(task_id))?;
                if stored.status == TaskStatus::Deleted.as_str() {
                    return Err(Fail::Store(StoreError::Conflict(format!("task {task_id} is deleted"))));
                }
                exec(
                    c,
                    Sql::new("DELETE FROM task_executors WHERE task_id = ?").bind(task_id.as_str()),
                )
                .await?;
                insert_assignments(c, task_id, executors).await
            })
        })
        .await
        .map_err(Fail::into_store)?;
        let mut list = executors.to_vec();
        list.sort_by(|a, b| a.executor_id.cmp(&b.executor_id));
        Ok(list)
    }

    // ---- executors ---------------------------------------------------------

    async fn register_executor(&self, executor: &Executor) -> StoreResult<(Executor, Registered)> {
        let new = normalize_executor(executor);
        let insert = insert_executor_sql(&new)?;
        let (new_ref, insert) = (&new, &insert);
        // A concurrent registration of the same new instance_id makes one
        // insert fail on the unique key; the next round updates its row.
        for _ in 0..3 {
            let r = self
                .tx(|c, _| {
                    Box::pin(async move {
                        let q = Sql::new(format!(
                            "SELECT {EXECUTOR_COLS} FROM executors WHERE instance_id = ? FOR UPDATE"
                        ))
                        .bind(&new_ref.instance_id);
                        match row::<ExecutorRow>(c, q).await? {
                            Some(existing) => {
                                let mut e = existing.into_executor()?;
                                e.name = new_ref.name.clone();
                                e.base_url = new_ref.base_url.clone();
                                e.health_check_url = new_ref.health_check_url.clone();
                                e.metadata = new_ref.metadata.clone();
                                if e.status == ExecutorStatus::Offline {
                                    e.status = ExecutorStatus::Online;
                                }
                                e.is_healthy = true;
                                e.health_check_failures = 0;
                                e.health_check_successes = 0;
                                e.updated_at = new_ref.updated_at;
                                exec(c, update_executor_sql(&e)?).await?;
                                Ok((e, Registered::Updated))
                            }
                            None => {
                                exec(c, insert.clone()).await?;
                                Ok((new_ref.clone(), Registered::Created))
                            }
                        }
                    })
                })
                .await;
            match r {
                Ok(v) => return Ok(v),
                Err(Fail::Db(e)) => match duplicate_key(&e) {
                    Some("uq_executors_instance_id") => continue,
                    Some("PRIMARY") => {
                        return Err(StoreError::Conflict(format!("executor {} already exists", new.id)));
                    }
                    _ => return Err(unavailable(e)),
                },
                Err(Fail::Store(e)) => return Err(e),
            }
        }
        Err(StoreError::InstanceTaken(new.instance_id))
    }

    async fn get_executor(&self, id: &ExecutorId) -> StoreResult<Executor> {
        let q = Sql::new(format!("SELECT {EXECUTOR_COLS} FROM executors WHERE id = ?")).bind(id.as_str());
        self.row::<ExecutorRow>(q)
            .await?
            .ok_or_else(|| StoreError::executor_not_found(id))?
            .into_executor()
    }

    async fn list_executors(&self, filter: &ExecutorFilter, page: Page) -> StoreResult<Paged<Executor>> {
        let mut cond = Sql::new(" WHERE 1 = 1");
        if let Some(s) = filter.status {
            cond.push_mut(" AND status = ?");
            cond.bind_mut(s.as_str());
        }
        if let Some(h) = filter.healthy {
            cond.push_mut(" AND is_healthy = ?");
            cond.bind_mut(h);
        }
        if let Some(n) = &filter.name {
            cond.push_mut(" AND name LIKE ? ESCAPE '!'");
            cond.bind_mut(like_pattern(n));
        }
        let select = Sql::new(format!("SELECT {EXECUTOR_COLS} FROM executors"))
            .append(&cond)
            .push(" ORDER BY created_at DESC, id DESC");
        let count = Sql::new("SELECT CAST(COUNT(*) AS UNSIGNED) AS n FROM executors").append(&cond);
        self.paged(select, count, page, ExecutorRow::into_executor).await
    }

    async fn all_executors(&self) -> StoreResult<Vec<Executor>> {
        let q = Sql::new(format!("SELECT {EXECUTOR_COLS} FROM executors ORDER BY id"));
        self.rows::<ExecutorRow>(q)
            .await?
            .into_iter()
            .map(ExecutorRow::into_executor)
            .collect()
    }

    async fn update_executor(&self, executor: &Executor) -> StoreResult<Executor> {
        self.modify_executor(&executor.id, |e| {
            e.name = executor.name.clone();
            e.base_url = executor.base_url.clone();
            e.health_check_url = executor.health_check_url.clone();
            e.metadata = executor.metadata.clone();
            e.updated_at = executor.updated_at;
        })
        .await
    }

    async fn set_executor_status(
        &self,
        id: &ExecutorId,
        status: ExecutorStatus,
        at: DateTime<Utc>,
    ) -> StoreResult<Executor> {
        self.modify_executor(id, |e| {
            e.status = status;
            e.updated_at = at;
        })
        .await
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
        self.tx(|c, _| {
            Box::pin(async move {
                let n = exec(c, Sql::new("DELETE FROM executors WHERE id = ?").bind(id.as_str())).await?;
                if n == 0 {
                    return Err(Fail::Store(StoreError::executor_not_found(id)));
                }
                // The foreign key cascades too; this keeps the rule visible here.
                exec(c, Sql::new("DELETE FROM task_executors WHERE executor_id = ?").bind(id.as_str())).await?;
                let q = Sql::new(
                    "UPDATE task_executions SET executor_id = NULL, row_version = row_version + 1 WHERE executor_id = ?",
                )
                .bind(id.as_str());
                exec(c, q).await?;
                Ok(())
            })
        })
        .await
        .map_err(Fail::into_store)
    }

    async fn dispatch_candidates(&self, task_id: &TaskId) -> StoreResult<Vec<Candidate>> {
        // Assigned executors when the task has any assignment, else every
        // executor; then only the available ones.
        let q = Sql::new(format!(
            "SELECT {}, te.weight AS weight, te.priority AS priority FROM executors e \
             LEFT JOIN task_executors te ON te.executor_id = e.id AND te.task_id = ? \
             WHERE e.status = ? AND e.is_healthy = TRUE \
             AND (te.task_id IS NOT NULL OR NOT EXISTS (SELECT 1 FROM task_executors x WHERE x.task_id = ?)) \
             ORDER BY e.id",
            cols("e", EXECUTOR_COLS)
        ))
        .bind(task_id.as_str())
        .bind(ExecutorStatus::Online.as_str())
        .bind(task_id.as_str());
        self.rows::<CandidateRow>(q)
            .await?
            .into_iter()
            .map(CandidateRow::into_candidate)
            .collect()
    }

    async fn dispatch_candidates_of(&self, tasks: &[TaskId]) -> StoreResult<HashMap<TaskId, Vec<Candidate>>> {
        self.candidates_of(tasks).await
    }

    async fn running_counts(&self, executors: &[ExecutorId]) -> StoreResult<HashMap<ExecutorId, u64>> {
        let mut out: HashMap<ExecutorId, u64> = executors.iter().map(|id| (id.clone(), 0)).collect();
        if executors.is_empty() {
            return Ok(out);
        }
        let mut q = Sql::new(
            "SELECT executor_id, CAST(COUNT(*) AS UNSIGNED) AS n FROM task_executions \
             WHERE status = ? AND executor_id IN ",
        )
        .bind(ExecutionStatus::Running.as_str());
        q.push_in_list(executors.iter().map(ExecutorId::as_str), executors.len() <= 32);
        q.push_mut(" GROUP BY executor_id");
        for r in self.rows::<RunningRow>(q).await? {
            out.insert(ExecutorId::new(r.executor_id), r.n);
        }
        Ok(out)
    }

    // ---- executions --------------------------------------------------------

    async fn claim_fire(&self, execution: &Execution, next_run_time: Option<DateTime<Utc>>) -> StoreResult<Execution> {
        let e = self.as_stored(execution);
        // One round trip: the `claim_fire` procedure (see its migration) sets
        // the task's next_run_time and inserts the execution in one transaction.
        let call = claim_fire_sql(&e, next_run_time)?;
        let mut attempt = 0;
        let r = loop {
            match self.exec(call.clone()).await {
                Err(Fail::Db(err)) if is_retryable(&err) && attempt < 3 => attempt += 1,
                r => break r,
            }
        };
        match r {
            Ok(_) => {
                self.cache().put(&e, 0);
                Ok(e)
            }
            Err(Fail::Db(err)) => Err(match duplicate_key(&err) {
                Some("uq_task_executions_fire") => already_fired(&e),
                Some("PRIMARY") => {
                    // The same execution claimed again: the server reports the
                    // primary key, but the fire is what was refused.
                    let q = Sql::new(
                        "SELECT CAST(COUNT(*) AS UNSIGNED) AS n FROM task_executions WHERE task_id = ? AND fire_key = ?",
                    )
                    .bind(e.task_id.as_str())
                    .bind(db_time(e.scheduled_time));
                    if self.count(q).await? > 0 {
                        already_fired(&e)
                    } else {
                        StoreError::Conflict(format!("execution {} already exists", e.id))
                    }
                }
                _ if is_foreign_key(&err) => StoreError::task_not_found(&e.task_id),
                _ => unavailable(err),
            }),
            Err(Fail::Store(err)) => Err(err),
        }
    }

    async fn claim_fires(&self, executions: &[Execution]) -> StoreResult<Vec<ClaimOutcome>> {
        self.claim_batch(executions).await
    }

    async fn last_fire_times(&self, tasks: &[TaskId]) -> StoreResult<HashMap<TaskId, DateTime<Utc>>> {
        self.last_fires(tasks).await
    }

    async fn insert_execution(&self, execution: &Execution) -> StoreResult<Execution> {
        let e = self.as_stored(execution);
        match self.exec(insert_execution_sql(&e)?).await {
            Ok(_) => {
                self.cache().put(&e, 0);
                Ok(e)
            }
            Err(Fail::Db(err)) => Err(match duplicate_key(&err) {
                Some("PRIMARY") => StoreError::Conflict(format!("execution {} already exists", e.id)),
                _ if is_foreign_key(&err) => StoreError::task_not_found(&e.task_id),
                _ => unavailable(err),
            }),
            Err(Fail::Store(err)) => Err(err),
        }
    }

    async fn get_execution(&self, id: &ExecutionId) -> StoreResult<Execution> {
        let q = Sql::new(format!("SELECT {EXECUTION_COLS} FROM task_executions WHERE id = ?")).bind(id.as_str());
        self.load_executions(q)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::execution_not_found(id))
    }

    async fn list_executions(
        &self,
        filter: &ExecutionFilter,
        from: &ListFrom,
        page_size: u32,
    ) -> StoreResult<ExecutionPage> {
        let mut cond = Sql::new(" WHERE 1 = 1");
        if let Some(t) = &filter.task_id {
            cond.push_mut(" AND task_id = ?");
            cond.bind_mut(t.as_str());
        }
        if let Some(x) = &filter.executor_id {
            cond.push_mut(" AND executor_id = ?");
            cond.bind_mut(x.as_str());
        }
        if let Some(s) = filter.status {
            cond.push_mut(" AND status = ?");
            cond.bind_mut(s.as_str());
        }
        if let Some(f) = filter.from {
            cond.push_mut(" AND scheduled_time >= ?");
            cond.bind_mut(db_bound(f));
        }
        if let Some(t) = filter.to {
            cond.push_mut(" AND scheduled_time <= ?");
            cond.bind_mut(db_bound(t));
        }
        // The total reads at most TOTAL_CAP + 1 index entries.
        let count = Sql::new("SELECT CAST(COUNT(*) AS UNSIGNED) AS n FROM (SELECT 1 FROM task_executions")
            .append(&cond)
            .push(" LIMIT ?) capped")
            .bind(TOTAL_CAP + 1);
        let mut select = Sql::new(format!("SELECT {EXECUTION_LIST_COLS} FROM task_executions")).append(&cond);
        let offset = match from {
            ListFrom::Page(p) => u64::from(p.saturating_sub(1)) * u64::from(page_size),
            ListFrom::After(c) => {
                // Keyset: the rows after the cursor in (scheduled_time, id)
                // descending order, read straight from the index.
                let t = db_time(c.scheduled_time);
                select.push_mut(" AND (scheduled_time < ? OR (scheduled_time = ? AND id < ?))");
                select.bind_mut(t);
                select.bind_mut(t);
                select.bind_mut(c.id.as_str());
                0
            }
        };
        let select = select
            .push(" ORDER BY scheduled_time DESC, id DESC LIMIT ? OFFSET ?")
            .bind(u64::from(page_size) + 1)
            .bind(offset);
        let total = self.count(count).await?;
        let mut items = self
            .rows::<ExecutionRow>(select)
            .await?
            .into_iter()
            .map(|r| r.into_execution().map(|(e, _)| e))
            .collect::<StoreResult<Vec<_>>>()?;
        let more = items.len() > page_size as usize;
        items.truncate(page_size as usize);
        let next = if more {
            items.last().map(|e| ExecutionCursor {
                scheduled_time: e.scheduled_time,
                id: e.id.clone(),
            })
        } else {
            None
        };
        Ok(ExecutionPage {
            items,
            total: total.min(TOTAL_CAP),
            total_is_lower_bound: total > TOTAL_CAP,
            next,
        })
    }

    async fn update_execution(
        &self,
        id: &ExecutionId,
        guard: &ExecutionGuard,
        change: &ExecutionChange,
    ) -> StoreResult<Execution> {
        let change = normalize_change(change);
        // Fast path: this instance wrote the row last and knows its version.
        let cached = self.cache().get(id);
        if let Some((current, version)) = cached
            && guard.matches(&current)
            && let Some(next) = self.try_update_execution(&current, version, guard, &change).await?
        {
            return Ok(next);
        }
        self.update_execution_slow(id, guard, &change).await
    }

    async fn update_executions(&self, updates: &[ExecutionUpdate]) -> StoreResult<Vec<UpdateOutcome>> {
        self.update_batch(updates).await
    }

    async fn task_activity(&self, task_id: &TaskId) -> StoreResult<TaskActivity> {
        let q = Sql::new(
            "SELECT CAST(COALESCE(SUM(status = 'pending'), 0) AS UNSIGNED) AS pending, \
             CAST(COALESCE(SUM(status = 'running'), 0) AS UNSIGNED) AS running \
             FROM task_executions WHERE task_id = ? AND status IN ('pending', 'running')",
        )
        .bind(task_id.as_str());
        Ok(self
            .row::<ActivityRow>(q)
            .await?
            .map(|r| TaskActivity {
                pending: r.pending,
                running: r.running,
            })
            .unwrap_or_default())
    }

    async fn due_executions(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Execution>> {
        let q = Sql::new(format!(
            "SELECT {EXECUTION_COLS} FROM task_executions \
             WHERE status = 'pending' AND dispatched_at IS NULL AND COALESCE(next_attempt_at, created_at) <= ? \
             ORDER BY COALESCE(next_attempt_at, created_at), id LIMIT ?"
        ))
        .bind(db_bound(now))
        .bind(limit);
        self.load_executions(q).await
    }

    async fn unanswered_executions(&self, limit: u32) -> StoreResult<Vec<Execution>> {
        let q = Sql::new(format!(
            "SELECT {EXECUTION_COLS} FROM task_executions \
             WHERE status = 'pending' AND dispatched_at IS NOT NULL ORDER BY id LIMIT ?"
        ))
        .bind(limit);
        self.load_executions(q).await
    }

    async fn overdue_executions(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Execution>> {
        let q = Sql::new(format!(
            "SELECT {EXECUTION_COLS} FROM task_executions \
             WHERE status IN ('pending', 'running') AND timeout_at <= ? ORDER BY timeout_at, id LIMIT ?"
        ))
        .bind(db_bound(now))
        .bind(limit);
        self.load_executions(q).await
    }

    // ---- load-balancer state -----------------------------------------------

    async fn lb_state(&self, task_id: &TaskId, strategy: &str) -> StoreResult<Option<LbState>> {
        let q = Sql::new("SELECT state, version FROM load_balance_state WHERE task_id = ? AND strategy = ?")
            .bind(task_id.as_str())
            .bind(strategy);
        self.row::<LbRow>(q).await?.map(LbRow::into_state).transpose()
    }

    async fn put_lb_state(
        &self,
        task_id: &TaskId,
        strategy: &str,
        expected_version: Option<u64>,
        value: &serde_json::Value,
    ) -> StoreResult<()> {
        let state = json_text(Some(value))?.unwrap_or_default();
        let lost = || StoreError::Conflict(format!("load-balancer state of {task_id}/{strategy} changed"));
        let q = match expected_version {
            None => Sql::new("INSERT INTO load_balance_state (task_id, strategy, state, version) VALUES (?, ?, ?, 1)")
                .bind(task_id.as_str())
                .bind(strategy)
                .bind(state),
            Some(v) => Sql::new(
                "UPDATE load_balance_state SET state = ?, version = version + 1 \
                 WHERE task_id = ? AND strategy = ? AND version = ?",
            )
            .bind(state)
            .bind(task_id.as_str())
            .bind(strategy)
            .bind(v),
        };
        match self.exec(q).await {
            Ok(1) => Ok(()),
            Ok(_) => Err(lost()),
            Err(Fail::Db(e)) if duplicate_key(&e).is_some() => Err(lost()),
            Err(e) => Err(e.into_store()),
        }
    }

    // ---- statistics --------------------------------------------------------

    async fn hourly_counts(
        &self,
        task_id: &TaskId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<HourlyCounts>> {
        let q = Sql::new(
            "SELECT hour, total, success, failed, timeout, skipped, cancelled, duration_ms_sum, duration_count \
             FROM execution_hourly WHERE task_id = ? AND hour >= ? AND hour <= ? ORDER BY hour",
        )
        .bind(task_id.as_str())
        .bind(db_bound(from))
        .bind(db_bound(to));
        Ok(self
            .rows::<HourlyRow>(q)
            .await?
            .into_iter()
            .map(HourlyCounts::from)
            .collect())
    }

    async fn purge_executions(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<u64> {
        // Ids first, by the time index and without locks; then a short
        // delete by primary key that re-checks the status.
        let q = Sql::new(
            "SELECT id FROM task_executions WHERE scheduled_time < ? AND status NOT IN ('pending', 'running') \
             ORDER BY scheduled_time, id LIMIT ?",
        )
        .bind(db_bound(before))
        .bind(u64::from(limit));
        self.delete_final(q).await
    }

    async fn purge_excess_executions(&self, keep: u64, limit: u32) -> StoreResult<u64> {
        let edge = Sql::new(
            "SELECT scheduled_time AS at, id FROM task_executions WHERE status NOT IN ('pending', 'running') \
             ORDER BY scheduled_time DESC, id DESC LIMIT 1 OFFSET ?",
        )
        .bind(keep);
        let Some(edge) = self.row::<EdgeRow>(edge).await? else {
            return Ok(0);
        };
        let q = Sql::new(
            "SELECT id FROM task_executions WHERE (scheduled_time < ? OR (scheduled_time = ? AND id <= ?)) \
             AND status NOT IN ('pending', 'running') ORDER BY scheduled_time, id LIMIT ?",
        )
        .bind(edge.at)
        .bind(edge.at)
        .bind(edge.id)
        .bind(u64::from(limit));
        self.delete_final(q).await
    }

    async fn purge_hourly_counts(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut total = 0;
        loop {
            let q = Sql::new("DELETE FROM execution_hourly WHERE hour < ? LIMIT 10000").bind(db_bound(before));
            let n = self.exec(q).await.map_err(Fail::into_store)? as u64;
            total += n;
            if n < 10_000 {
                return Ok(total);
            }
        }
    }

    async fn system_counts(&self) -> StoreResult<SystemCounts> {
        let q = Sql::new(
            "SELECT e.total AS executors_total, e.online AS executors_online, e.offline AS executors_offline, \
               e.maintenance AS executors_maintenance, e.healthy AS executors_healthy, \
               e.unhealthy AS executors_unhealthy, t.active AS tasks_active, t.paused AS tasks_paused, \
               x.pending AS executions_pending, x.running AS executions_running \
             FROM (SELECT CAST(COUNT(*) AS UNSIGNED) AS total, \
                     CAST(COALESCE(SUM(status = 'online'), 0) AS UNSIGNED) AS online, \
                     CAST(COALESCE(SUM(status = 'offline'), 0) AS UNSIGNED) AS offline, \
                     CAST(COALESCE(SUM(status = 'maintenance'), 0) AS UNSIGNED) AS maintenance, \
                     CAST(COALESCE(SUM(is_healthy), 0) AS UNSIGNED) AS healthy, \
                     CAST(COALESCE(SUM(NOT is_healthy), 0) AS UNSIGNED) AS unhealthy FROM executors) e \
             CROSS JOIN (SELECT CAST(COALESCE(SUM(status = 'active'), 0) AS UNSIGNED) AS active, \
                     CAST(COALESCE(SUM(status = 'paused'), 0) AS UNSIGNED) AS paused \
                   FROM tasks WHERE status IN ('active', 'paused')) t \
             CROSS JOIN (SELECT CAST(COALESCE(SUM(status = 'pending'), 0) AS UNSIGNED) AS pending, \
                     CAST(COALESCE(SUM(status = 'running'), 0) AS UNSIGNED) AS running \
                   FROM task_executions WHERE status IN ('pending', 'running')) x",
        );
        Ok(self
            .row::<SystemRow>(q)
            .await?
            .map(SystemCounts::from)
            .unwrap_or_default())
    }

    // ---- scheduler instances -----------------------------------------------

    async fn upsert_instance(&self, instance: &SchedulerInstance) -> StoreResult<()> {
        let q = Sql::new(
            "INSERT INTO scheduler_instances (instance_id, hostname, is_leader, started_at, last_heartbeat) \
             VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE hostname = VALUES(hostname), \
             is_leader = VALUES(is_leader), started_at = VALUES(started_at), last_heartbeat = VALUES(last_heartbeat)",
        )
        .bind(&instance.instance_id)
        .bind(&instance.hostname)
        .bind(instance.is_leader)
        .bind(db_time(instance.started_at))
        .bind(db_time(instance.last_heartbeat));
        self.exec(q).await.map(drop).map_err(Fail::into_store)
    }

    async fn list_instances(&self) -> StoreResult<Vec<SchedulerInstance>> {
        let q = Sql::new(
            "SELECT instance_id, hostname, is_leader, started_at, last_heartbeat FROM scheduler_instances \
             ORDER BY instance_id",
        );
        Ok(self
            .rows::<InstanceRow>(q)
            .await?
            .into_iter()
            .map(InstanceRow::into_instance)
            .collect())
    }

    async fn remove_instance(&self, instance_id: &str) -> StoreResult<()> {
        let q = Sql::new("DELETE FROM scheduler_instances WHERE instance_id = ?").bind(instance_id);
        self.exec(q).await.map(drop).map_err(Fail::into_store)
    }
}
