//! The connection pool and the mapping of database errors to [`StoreError`].
//!
//! bb8 with a small manager of our own rather than diesel-async's: its
//! `has_broken` only knows about broken transactions, so a connection the
//! server killed (or whose query future was dropped half-way) would go back to
//! the pool and fail the next caller too. Here a connection is returned only
//! when its last operation finished with a result that proves the connection
//! healthy; everything else drops it. After such an error every older idle
//! connection is pinged once before its next use, so the pool recovers from an
//! outage within one failed call instead of one per pooled connection.

use diesel::result::{ConnectionError, DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::PoolableConnection;
use diesel_async::{AsyncConnection, AsyncMysqlConnection, SimpleAsyncConnection};
use scheduler_core::StoreError;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Session settings for every pooled connection (diesel-async already sets
/// `time_zone = '+00:00'` and utf8mb4). Strict mode makes an oversized value
/// an error instead of a silent truncation. English server messages, because
/// the driver layer hands errors over as text only (see [`classify`]).
const SESSION_SETUP: &str = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION', lc_messages = 'en_US'";

/// What the pool has learned about the server, shared by the manager and
/// every checkout.
#[derive(Default)]
pub(crate) struct Health {
    /// Bumped whenever a connection turned out dead; see [`get`].
    epoch: AtomicU64,
    /// Woken when opening a connection failed, so callers waiting for one
    /// fail at once instead of at the pool's timeout.
    connect_failed: Notify,
    /// The last failure to open a connection, until one opens again.
    last_connect_error: Mutex<Option<(Instant, String)>>,
}

impl Health {
    fn last_connect_error(&self) -> Option<(Instant, String)> {
        self.last_connect_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_last_connect_error(&self, e: Option<String>) {
        *self.last_connect_error.lock().unwrap_or_else(|p| p.into_inner()) = e.map(|e| (Instant::now(), e));
    }
}

/// How long after a failed connect a caller that would have to wait for a new
/// connection fails at once instead. bb8 does not wake waiters when a connect
/// fails, so without this a caller could wait for the whole pool timeout
/// while the server is down.
const FAIL_FAST: Duration = Duration::from_millis(500);

/// Creates pooled connections.
pub(crate) struct Manager {
    url: String,
    health: Arc<Health>,
}

impl Manager {
    pub(crate) fn new(url: String, health: Arc<Health>) -> Self {
        Self { url, health }
    }
}

/// A pooled connection and whether it may go back to the pool.
pub(crate) struct PoolConn {
    conn: AsyncMysqlConnection,
    /// Set while an operation is in flight and left set when it failed in a
    /// way that says nothing good about the connection.
    suspect: bool,
    /// The error epoch this connection was last known good in.
    epoch: u64,
}

/// Opens one connection with the store's session settings.
pub(crate) async fn establish(url: &str) -> Result<AsyncMysqlConnection, ConnectionError> {
    let mut conn = AsyncMysqlConnection::establish(url).await?;
    conn.batch_execute(SESSION_SETUP)
        .await
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}

impl bb8::ManageConnection for Manager {
    type Connection = PoolConn;
    type Error = ConnectionError;

    async fn connect(&self) -> Result<PoolConn, ConnectionError> {
        let epoch = self.health.epoch.load(Ordering::Acquire);
        match establish(&self.url).await {
            Ok(conn) => {
                self.health.set_last_connect_error(None);
                Ok(PoolConn {
                    conn,
                    suspect: false,
                    epoch,
                })
            }
            Err(e) => {
                self.health.set_last_connect_error(Some(e.to_string()));
                self.health.connect_failed.notify_waiters();
                Err(e)
            }
        }
    }

    async fn is_valid(&self, conn: &mut PoolConn) -> Result<(), ConnectionError> {
        conn.conn
            .batch_execute("DO 1")
            .await
            .map_err(ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, conn: &mut PoolConn) -> bool {
        conn.suspect || conn.conn.is_broken()
    }
}

/// The store's pool.
pub(crate) type Pool = bb8::Pool<Manager>;

/// A checked-out connection. Dereferences to the diesel connection; call
/// [`Conn::settle`] with every result so a dead connection is not reused.
pub(crate) struct Conn<'a> {
    inner: bb8::PooledConnection<'a, Manager>,
    health: &'a Health,
}

impl Conn<'_> {
    /// Records the outcome of an operation on this connection and maps its error.
    pub(crate) fn settle<T>(&mut self, r: Result<T, DieselError>) -> Result<T, DieselError> {
        match &r {
            Ok(_) => self.inner.suspect = false,
            Err(e) if connection_is_fine_after(e) => self.inner.suspect = false,
            Err(_) => {
                self.inner.suspect = true;
                self.health.epoch.fetch_add(1, Ordering::AcqRel);
            }
        }
        r
    }

    /// Marks the connection as in use; [`Conn::settle`] clears it.
    pub(crate) fn begin(&mut self) -> &mut AsyncMysqlConnection {
        self.inner.suspect = true;
        &mut self.inner.conn
    }
}

impl Deref for Conn<'_> {
    type Target = AsyncMysqlConnection;
    fn deref(&self) -> &AsyncMysqlConnection {
        &self.inner.conn
    }
}

impl DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut AsyncMysqlConnection {
        &mut self.inner.conn
    }
}

/// Checks a connection out, pinging it first when a connection error was seen
/// since it was last known good.
pub(crate) async fn get<'a>(pool: &'a Pool, health: &'a Health) -> Result<Conn<'a>, StoreError> {
    // Each failed ping drops one connection; a pool of n needs at most n + 1 tries.
    let tries = pool.state().connections.saturating_add(2);
    let cannot_connect = || {
        let why = health.last_connect_error().map(|(_, e)| e).unwrap_or_default();
        StoreError::Unavailable(format!("cannot connect to the database: {why}"))
    };
    for _ in 0..tries {
        let failed = health.connect_failed.notified();
        tokio::pin!(failed);
        failed.as_mut().enable();
        if pool.state().idle_connections == 0
            && health
                .last_connect_error()
                .is_some_and(|(at, _)| at.elapsed() < FAIL_FAST)
        {
            return Err(cannot_connect());
        }
        let got = tokio::select! {
            biased;
            got = pool.get() => got,
            () = &mut failed => return Err(cannot_connect()),
        };
        let mut inner = got.map_err(|e| match e {
            bb8::RunError::User(e) => StoreError::Unavailable(format!("cannot connect to the database: {e}")),
            bb8::RunError::TimedOut => StoreError::Unavailable("timed out waiting for a database connection".into()),
        })?;
        let now = health.epoch.load(Ordering::Acquire);
        if inner.epoch < now {
            inner.suspect = true;
            if inner.conn.batch_execute("DO 1").await.is_err() {
                continue;
            }
            inner.suspect = false;
            inner.epoch = now;
        }
        return Ok(Conn { inner, health });
    }
    Err(StoreError::Unavailable("no working database connection".into()))
}

/// Whether the connection can be reused after `e` (a constraint violation or
/// a server-side error answered over a healthy connection).
fn connection_is_fine_after(e: &DieselError) -> bool {
    match e {
        DieselError::NotFound | DieselError::RollbackTransaction | DieselError::DeserializationError(_) => true,
        DieselError::DatabaseError(kind, info) => match kind {
            DatabaseErrorKind::UniqueViolation
            | DatabaseErrorKind::ForeignKeyViolation
            | DatabaseErrorKind::NotNullViolation
            | DatabaseErrorKind::CheckViolation => true,
            _ => !is_connection_failure(info.message()),
        },
        _ => false,
    }
}

/// diesel-async reports driver and I/O failures with the driver's message
/// (`Input/output error: ...`, `Driver error: ...`) and server errors with the
/// server's bare message; a few server messages also mean "this connection is gone".
fn is_connection_failure(message: &str) -> bool {
    const CLIENT_SIDE: [&str; 5] = [
        "Input/output error",
        "Driver error",
        "Other error",
        "TLS error",
        "URL error",
    ];
    const SERVER_SIDE: [&str; 4] = [
        "Connection was killed",
        "Lost connection",
        "Server shutdown",
        "server has gone away",
    ];
    CLIENT_SIDE.iter().any(|p| message.starts_with(p)) || SERVER_SIDE.iter().any(|p| message.contains(p))
}

/// The name of the unique key a duplicate-entry error names, if any
/// (`Duplicate entry '...' for key 'uq_tasks_live_name'`; MySQL 8 prefixes the table).
pub(crate) fn duplicate_key(e: &DieselError) -> Option<&str> {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            let msg = info.message();
            let key = msg.rsplit_once("for key '")?.1.trim_end_matches('\'');
            Some(key.rsplit('.').next().unwrap_or(key))
        }
        _ => None,
    }
}

/// Whether `e` is a foreign-key violation.
pub(crate) fn is_foreign_key(e: &DieselError) -> bool {
    matches!(e, DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _))
}

/// Whether `e` is a deadlock or lock-wait timeout: the transaction was rolled
/// back by the server and may simply be run again.
pub(crate) fn is_retryable(e: &DieselError) -> bool {
    match e {
        DieselError::DatabaseError(_, info) => {
            let m = info.message();
            m.contains("Deadlock found") || m.contains("Lock wait timeout") || m.contains("try restarting transaction")
        }
        _ => false,
    }
}

/// What a database error means for the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The server is unreachable, overloaded or rolled the statement back
    /// (connection lost, too many connections, deadlock, lock wait,
    /// statement time limit, read-only during a failover, the database or
    /// its tables missing): retry later.
    Transient,
    /// A unique or foreign key was violated: the callers map these to the
    /// domain's conflicts.
    Constraint,
    /// The server refused a value for good (CHECK constraint, too long, out
    /// of range, bad date-time, invalid JSON): retrying cannot help; it is
    /// the value the client sent.
    ValueRefused,
    /// Anything else: a statement of ours the server refused (unknown
    /// column, bad SQL, NULL where none is allowed), or a result we could not
    /// read. A bug or a broken deployment, not the client's fault.
    Internal,
}

/// MySQL/MariaDB error codes by meaning, with the English text each starts
/// with or contains. diesel-async keeps only the server's message (not its
/// code), so the code is recognised by its text; every pooled connection
/// sets `lc_messages = 'en_US'` so the texts are the ones below.
const KNOWN_ERRORS: &[(u16, &str, Failure)] = &[
    (1040, "Too many connections", Failure::Transient),
    (1203, "max_user_connections", Failure::Transient),
    (1205, "Lock wait timeout exceeded", Failure::Transient),
    (1213, "Deadlock found", Failure::Transient),
    (1053, "Server shutdown in progress", Failure::Transient),
    (1927, "Connection was killed", Failure::Transient),
    (2006, "server has gone away", Failure::Transient),
    (2013, "Lost connection", Failure::Transient),
    (1317, "Query execution was interrupted", Failure::Transient),
    (3024, "maximum statement execution time exceeded", Failure::Transient),
    (1290, "--read-only option", Failure::Transient),
    (1836, "Running in read-only mode", Failure::Transient),
    (1792, "READ ONLY transaction", Failure::Transient),
    (1615, "needs to be re-prepared", Failure::Transient),
    (1158, "error reading communication packets", Failure::Transient),
    (1159, "timeout reading communication packets", Failure::Transient),
    (1160, "error writing communication packets", Failure::Transient),
    (1161, "timeout writing communication packets", Failure::Transient),
    (1021, "Disk full", Failure::Transient),
    // The store's database or tables are gone (dropped, being restored): the
    // store is unavailable, as when the server is down.
    (1049, "Unknown database", Failure::Transient),
    (1146, "doesn't exist", Failure::Transient),
    (1114, "is full", Failure::Transient),
    (4025, "failed for", Failure::ValueRefused),
    (3819, "Check constraint", Failure::ValueRefused),
    (1406, "Data too long for column", Failure::ValueRefused),
    (1292, "Incorrect datetime value", Failure::ValueRefused),
    (1292, "Incorrect date value", Failure::ValueRefused),
    (1292, "Truncated incorrect", Failure::ValueRefused),
    (1264, "Out of range value", Failure::ValueRefused),
    (1265, "Data truncated for column", Failure::ValueRefused),
    (1366, "Incorrect string value", Failure::ValueRefused),
    (1366, "Incorrect integer value", Failure::ValueRefused),
    (1366, "Incorrect decimal value", Failure::ValueRefused),
    (1367, "value found during parsing", Failure::ValueRefused),
    (1690, "value is out of range", Failure::ValueRefused),
    (3140, "Invalid JSON text", Failure::ValueRefused),
    (4038, "Syntax error in JSON text", Failure::ValueRefused),
    (4040, "JSON nested structures depth", Failure::ValueRefused),
];

/// The error code a server message stands for, when it is one of
/// [`KNOWN_ERRORS`].
pub(crate) fn error_code(message: &str) -> Option<u16> {
    KNOWN_ERRORS
        .iter()
        .find(|(_, text, _)| message.contains(text))
        .map(|(code, _, _)| *code)
}

/// Classifies a database error (see [`Failure`]).
pub(crate) fn classify(e: &DieselError) -> Failure {
    match e {
        DieselError::DatabaseError(kind, info) => {
            let message = info.message();
            if is_connection_failure(message) {
                return Failure::Transient;
            }
            match kind {
                DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::ForeignKeyViolation => {
                    return Failure::Constraint;
                }
                DatabaseErrorKind::CheckViolation => return Failure::ValueRefused,
                DatabaseErrorKind::ReadOnlyTransaction | DatabaseErrorKind::SerializationFailure => {
                    return Failure::Transient;
                }
                DatabaseErrorKind::NotNullViolation => return Failure::Internal,
                _ => {}
            }
            KNOWN_ERRORS
                .iter()
                .find(|(_, text, _)| message.contains(text))
                .map_or(Failure::Internal, |(_, _, failure)| *failure)
        }
        // The transaction manager lost track: the connection is dropped and
        // the next attempt gets a fresh one.
        DieselError::BrokenTransactionManager => Failure::Transient,
        _ => Failure::Internal,
    }
}

/// A value refused for good: the client's input.
fn value_refused(message: &str) -> StoreError {
    StoreError::Invalid(message.to_owned())
}

/// A failure on our side.
fn internal(message: &str) -> StoreError {
    StoreError::Internal(message.to_owned())
}

/// The default mapping of a database error to the store's error: only
/// transient failures are `Unavailable` (a 503 the caller may retry); a
/// refused value or our own mistake never is, so nobody retries forever.
pub(crate) fn unavailable(e: DieselError) -> StoreError {
    let message = match &e {
        DieselError::DatabaseError(_, info) => match error_code(info.message()) {
            Some(code) => format!("{} (error {code})", info.message()),
            None => info.message().to_owned(),
        },
        other => other.to_string(),
    };
    match classify(&e) {
        Failure::Transient => StoreError::Unavailable(e.to_string()),
        Failure::Constraint => StoreError::Conflict(message),
        Failure::ValueRefused => value_refused(&message),
        Failure::Internal => internal(&message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Info(&'static str);
    impl diesel::result::DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.0
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            None
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn db(kind: DatabaseErrorKind, msg: &'static str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(Info(msg)))
    }

    #[test]
    fn parses_duplicate_key_names() {
        let e = db(
            DatabaseErrorKind::UniqueViolation,
            "Duplicate entry 'a' for key 'uq_tasks_live_name'",
        );
        assert_eq!(duplicate_key(&e), Some("uq_tasks_live_name"));
        let e = db(
            DatabaseErrorKind::UniqueViolation,
            "Duplicate entry 'a' for key 'tasks.uq_tasks_live_name'",
        );
        assert_eq!(duplicate_key(&e), Some("uq_tasks_live_name"));
        let e = db(
            DatabaseErrorKind::UniqueViolation,
            "Duplicate entry 'x' for key 'PRIMARY'",
        );
        assert_eq!(duplicate_key(&e), Some("PRIMARY"));
    }

    #[test]
    fn refused_values_and_our_mistakes_are_never_unavailable() {
        use DatabaseErrorKind::{CheckViolation, Unknown};
        let cases = [
            (
                Unknown,
                "CONSTRAINT `executions.result` failed for `jobs`.`executions`",
                Failure::ValueRefused,
                Some(4025),
            ),
            (
                CheckViolation,
                "Check constraint 'c' is violated.",
                Failure::ValueRefused,
                Some(3819),
            ),
            (
                Unknown,
                "Data too long for column 'name' at row 1",
                Failure::ValueRefused,
                Some(1406),
            ),
            (
                Unknown,
                "Incorrect datetime value: '10000-01-01 00:00:00' for column `jobs`.`executions`.`end_time` at row 1",
                Failure::ValueRefused,
                Some(1292),
            ),
            (
                Unknown,
                "Out of range value for column 'retry_count' at row 1",
                Failure::ValueRefused,
                Some(1264),
            ),
            (
                Unknown,
                "Incorrect string value: '\\xF0\\x9F' for column",
                Failure::ValueRefused,
                Some(1366),
            ),
            (
                Unknown,
                "Table 'jobs.nope' doesn't exist",
                Failure::Transient,
                Some(1146),
            ),
            (
                Unknown,
                "Unknown column 'nope' in 'field list'",
                Failure::Internal,
                None,
            ),
            (Unknown, "You have an error in your SQL syntax", Failure::Internal, None),
            (
                DatabaseErrorKind::NotNullViolation,
                "Column 'name' cannot be null",
                Failure::Internal,
                None,
            ),
            (Unknown, "Too many connections", Failure::Transient, Some(1040)),
            (
                Unknown,
                "Deadlock found when trying to get lock; try restarting transaction",
                Failure::Transient,
                Some(1213),
            ),
            (
                Unknown,
                "Lock wait timeout exceeded; try restarting transaction",
                Failure::Transient,
                Some(1205),
            ),
            (Unknown, "Input/output error: broken pipe", Failure::Transient, None),
            (Unknown, "Connection was killed", Failure::Transient, Some(1927)),
            (
                Unknown,
                "The MariaDB server is running with the --read-only option so it cannot execute this statement",
                Failure::Transient,
                Some(1290),
            ),
            (
                DatabaseErrorKind::UniqueViolation,
                "Duplicate entry 'a' for key 'k'",
                Failure::Constraint,
                None,
            ),
        ];
        for (kind, message, failure, code) in cases {
            let e = db(kind, message);
            assert_eq!(classify(&e), failure, "{message}");
            assert_eq!(error_code(message), code, "{message}");
            let mapped = unavailable(db(kind, message));
            let is_unavailable = matches!(mapped, StoreError::Unavailable(_));
            assert_eq!(is_unavailable, failure == Failure::Transient, "{message}: {mapped:?}");
            match failure {
                Failure::ValueRefused => assert!(matches!(mapped, StoreError::Invalid(_)), "{mapped:?}"),
                Failure::Internal => assert!(matches!(mapped, StoreError::Internal(_)), "{mapped:?}"),
                _ => {}
            }
        }
        assert_eq!(classify(&DieselError::NotFound), Failure::Internal);
    }

    #[test]
    fn classifies_connection_failures() {
        assert!(!connection_is_fine_after(&db(
            DatabaseErrorKind::Unknown,
            "Input/output error: broken pipe"
        )));
        assert!(!connection_is_fine_after(&db(
            DatabaseErrorKind::Unknown,
            "Connection was killed"
        )));
        assert!(connection_is_fine_after(&db(
            DatabaseErrorKind::Unknown,
            "Deadlock found when trying to get lock; try restarting transaction"
        )));
        assert!(connection_is_fine_after(&db(
            DatabaseErrorKind::UniqueViolation,
            "Duplicate entry"
        )));
    }
}
