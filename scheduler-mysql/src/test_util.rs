//! A database of its own for each MySQL test (feature `test-util`).
//!
//! [`TestDb::create`] makes an empty database with a unique name on the test
//! server, `SCHEDULER_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306`),
//! and [`TestDb::drop_db`] drops it. When the server cannot be reached, a
//! test fails under `CI=true` (or `CI=1`) and is skipped with a loud message
//! otherwise, so a laptop without MariaDB can still run the other tests.
//!
//! ```no_run
//! # async fn example() {
//! use scheduler_mysql::MysqlStore;
//! use scheduler_mysql::test_util::TestDb;
//!
//! let Some(db) = TestDb::create().await else { return }; // skipped locally without a server
//! let store = MysqlStore::connect(&db.url, 2).await.expect("connect");
//! // ... the test ...
//! drop(store);
//! db.drop_db().await;
//! # }
//! ```

use diesel_async::{AsyncConnection, AsyncMysqlConnection, SimpleAsyncConnection};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long connecting to the test server may take before it counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long dropping a database may take: cleanup must never hang a test run
/// (one did, waiting for the server's answer to a `DROP DATABASE`).
const DROP_TIMEOUT: Duration = Duration::from_secs(30);

/// A freshly created, empty database, dropped by [`TestDb::drop_db`] or, at
/// the latest, when the value is dropped (also when the test panics).
#[derive(Debug)]
pub struct TestDb {
    /// Its name, `sched_test_<uuid>`.
    pub name: String,
    /// The test server's URL with this database.
    pub url: String,
    dropped: AtomicBool,
}

impl TestDb {
    /// The test server: `SCHEDULER_TEST_MYSQL_URL`, default `mysql://root@127.0.0.1:3306`.
    pub fn server_url() -> String {
        std::env::var("SCHEDULER_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned())
    }

    /// Creates `sched_test_<uuid>` on the test server. `None` (after a loud
    /// message on stderr) when the server cannot be reached and `CI` is not
    /// set.
    ///
    /// # Panics
    ///
    /// When the server cannot be reached under `CI=true`, or refuses to
    /// create the database.
    pub async fn create() -> Option<TestDb> {
        let server = Self::server_url();
        let mut admin = match connect(&server).await {
            Ok(c) => c,
            Err(why) => {
                if in_ci() {
                    panic!(
                        "CI=true and the test MySQL server at {} is unreachable: {why}",
                        redact(&server)
                    );
                }
                eprintln!(
                    "\n!!!!!!!!\n!!! SKIPPING MySQL test: {} is unreachable ({why}).\n\
                     !!! Set SCHEDULER_TEST_MYSQL_URL or start MariaDB; under CI=true this fails.\n!!!!!!!!\n",
                    redact(&server)
                );
                return None;
            }
        };
        let name = format!("sched_test_{}", uuid::Uuid::now_v7().simple());
        admin
            .batch_execute(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let url = with_database(&server, &name);
        Some(TestDb {
            name,
            url,
            dropped: AtomicBool::new(false),
        })
    }

    /// Drops the database (once; later calls do nothing). Gives up, with a
    /// message on stderr, when it takes more than 30 s or fails: a leftover
    /// database must not fail or hang the test that made it.
    pub async fn drop_db(&self) {
        if self.dropped.swap(true, Ordering::SeqCst) {
            return;
        }
        drop_database(&self.name).await;
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.dropped.swap(true, Ordering::SeqCst) {
            return;
        }
        // A test that panicked (or returned) before `drop_db`: there is no
        // await in `Drop`, and the test's runtime may be the current-thread
        // one, so the DROP runs on a runtime of its own in a thread of its own.
        let name = self.name.clone();
        let cleanup = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                rt.block_on(drop_database(&name));
            }
        });
        let _ = cleanup.join();
    }
}

/// Whether the tests run in CI, where a missing server is a failure.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A connection to the server, bounded by [`CONNECT_TIMEOUT`].
async fn connect(url: &str) -> Result<AsyncMysqlConnection, String> {
    match tokio::time::timeout(CONNECT_TIMEOUT, AsyncMysqlConnection::establish(url)).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())),
    }
}

/// Drops a test database within [`DROP_TIMEOUT`], connecting included.
async fn drop_database(name: &str) {
    let server = TestDb::server_url();
    let drop = async {
        let mut admin = connect(&server).await?;
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS `{name}`"))
            .await
            .map_err(|e| e.to_string())
    };
    match tokio::time::timeout(DROP_TIMEOUT, drop).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("could not drop test database {name}: {e}"),
        Err(_) => eprintln!(
            "gave up dropping test database {name} after {} s; it is left behind",
            DROP_TIMEOUT.as_secs()
        ),
    }
}

/// `url` with its database (path) replaced by `db`; the query string is kept.
fn with_database(url: &str, db: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.set_path(&format!("/{db}"));
            u.to_string()
        }
        Err(_) => format!("{}/{db}", url.trim_end_matches('/')),
    }
}

/// `url` without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_replaces_the_path_and_keeps_the_query() {
        assert_eq!(
            with_database("mysql://root@127.0.0.1:3306", "t1"),
            "mysql://root@127.0.0.1:3306/t1"
        );
        assert_eq!(
            with_database("mysql://u:p@db:3307/other?require_ssl=true", "t2"),
            "mysql://u:p@db:3307/t2?require_ssl=true"
        );
    }

    #[test]
    fn messages_hide_the_password() {
        assert_eq!(redact("mysql://u:secret@db:3306"), "mysql://u:***@db:3306");
        assert_eq!(redact("mysql://root@db:3306"), "mysql://root@db:3306");
    }
}
