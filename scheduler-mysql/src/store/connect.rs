//! Opening a [`MysqlStore`]: the pool, the first connection that proves the
//! URL, and the migrations, which run under a named lock (`GET_LOCK`) so that
//! several instances may start at once.

use super::*;

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
}

/// Opens a connection of its own (not from the pool), within `timeout`.
async fn establish_dedicated(url: &str, timeout: Duration) -> Result<AsyncMysqlConnection, MysqlError> {
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
    // The harness blocks its thread for the whole run: on a blocking thread
    // of its own, so that nothing polled beside this future (another store
    // connecting in the same task, with its own timeout) waits for it.
    let (result, mut conn) = tokio::task::spawn_blocking(move || {
        let mut harness = AsyncMigrationHarness::new(conn);
        let result = harness
            .run_pending_migrations(MIGRATIONS)
            .map(|applied| applied.len())
            .map_err(|e| MysqlError::Migration(e.to_string()));
        (result, harness.into_inner())
    })
    .await
    // A panic in the harness: its connection, and the lock with it, is gone.
    .map_err(|e| MysqlError::Migration(format!("the migrations stopped: {e}")))?;
    // Closing the connection releases the lock too; this just does it sooner.
    let _ = conn.batch_execute(&format!("DO RELEASE_LOCK({lock})")).await;
    let applied = result?;
    if applied > 0 {
        tracing::info!(applied, "applied database migrations");
    }
    Ok(())
}
