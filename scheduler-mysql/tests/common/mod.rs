//! Shared helpers of the integration tests: a uniquely named database per test.
//!
//! The server comes from `SCHEDULER_TEST_MYSQL_URL` (default
//! `mysql://root@127.0.0.1:3306`). When it cannot be reached, tests fail under
//! `CI=true` and are skipped (with a loud message) otherwise.

#![allow(dead_code)]

use diesel_async::{AsyncConnection, AsyncMysqlConnection, SimpleAsyncConnection};
use std::time::Duration;

/// The server URL the tests use.
pub fn server_url() -> String {
    std::env::var("SCHEDULER_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned())
}

/// `url` with its database part replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.set_path(&format!("/{db}"));
            u.to_string()
        }
        Err(_) => format!("{}/{db}", url.trim_end_matches('/')),
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A connection to the server (no database), or `None` when it cannot be
/// reached outside CI. Panics under CI.
pub async fn admin() -> Option<AsyncMysqlConnection> {
    let url = server_url();
    let r = tokio::time::timeout(Duration::from_secs(10), AsyncMysqlConnection::establish(&url)).await;
    match r {
        Ok(Ok(c)) => Some(c),
        other => {
            let why = match other {
                Ok(Err(e)) => e.to_string(),
                _ => "timed out".to_owned(),
            };
            if in_ci() {
                panic!("CI=true and the test MySQL server at {url} is unreachable: {why}");
            }
            eprintln!(
                "\n!!!!!!!!\n!!! SKIPPING: MySQL at {url} is unreachable ({why}).\n\
                 !!! Set SCHEDULER_TEST_MYSQL_URL or start MariaDB; under CI=true this fails.\n!!!!!!!!\n"
            );
            None
        }
    }
}

/// A freshly created, empty database, dropped by [`TestDb::drop_db`] or, at
/// the latest, when the value is dropped (also when a test panics).
pub struct TestDb {
    /// Its name.
    pub name: String,
    /// URL of the database.
    pub url: String,
    dropped: std::sync::atomic::AtomicBool,
}

impl TestDb {
    /// Creates `sched_test_<uuid>`; `None` when the server is unreachable outside CI.
    pub async fn create() -> Option<TestDb> {
        let mut admin = admin().await?;
        let name = format!("sched_test_{}", uuid::Uuid::now_v7().simple());
        admin
            .batch_execute(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let url = with_database(&server_url(), &name);
        Some(TestDb {
            name,
            url,
            dropped: Default::default(),
        })
    }

    /// Drops the database.
    pub async fn drop_db(&self) {
        if self.dropped.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        drop_database(&self.name).await;
    }
}

/// Drops a test database, giving up (loudly) after 30 s: cleanup must never
/// hang a test run (one did, waiting on the server's answer to the DROP).
async fn drop_database(name: &str) {
    let url = server_url();
    let drop = async {
        let mut admin = AsyncMysqlConnection::establish(&url).await.map_err(|e| e.to_string())?;
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS `{name}`"))
            .await
            .map_err(|e| e.to_string())
    };
    match tokio::time::timeout(Duration::from_secs(30), drop).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("could not drop test database {name}: {e}"),
        Err(_) => eprintln!("gave up dropping test database {name} after 30 s; it is left behind"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.dropped.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        // A test that panicked before `drop_db`: drop it from a thread of its
        // own (no await in `Drop`), so no database is left behind.
        let name = self.name.clone();
        let cleanup = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                rt.block_on(drop_database(&name));
            }
        });
        let _ = cleanup.join();
    }
}

/// Makes sure the server connection `connection_id` is dead: `KILL <id>` from
/// a fresh connection of its own (a connection that already ended is fine).
pub async fn kill(connection_id: u64) {
    let mut admin = admin().await.expect("server reachable");
    if let Err(e) = admin.batch_execute(&format!("KILL {connection_id}")).await {
        assert!(
            e.to_string().contains("Unknown thread id"),
            "KILL {connection_id} failed: {e}"
        );
    }
}

/// Kills every connection whose current database is `db`.
pub async fn kill_connections_to(db: &str) -> usize {
    use diesel::QueryableByName;
    use diesel_async::RunQueryDsl;

    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::BigInt>)]
        id: u64,
    }
    let mut admin = admin().await.expect("server reachable");
    let ids: Vec<Id> = diesel::sql_query(
        "SELECT CAST(ID AS UNSIGNED) AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
    )
    .bind::<diesel::sql_types::Text, _>(db)
    .load(&mut admin)
    .await
    .expect("list connections");
    for id in &ids {
        // A connection may end on its own in between: ignore "unknown thread".
        let _ = admin.batch_execute(&format!("KILL {}", id.id)).await;
    }
    ids.len()
}

/// A TCP proxy in front of the test server that can be taken down (listener
/// closed, every proxied connection cut) and brought back on the same port:
/// a database outage as the store sees it, without touching the shared server.
pub struct Proxy {
    port: u16,
    upstream: String,
    task: std::sync::Mutex<Option<(tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>)>>,
    frozen: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// Copies `from` to `to`, holding bytes back while `frozen`.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        while frozen.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        while frozen.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

impl Proxy {
    /// A running proxy to the test server.
    pub async fn start() -> Proxy {
        let u = url::Url::parse(&server_url()).expect("test server URL");
        let upstream = format!("{}:{}", u.host_str().unwrap_or("127.0.0.1"), u.port().unwrap_or(3306));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let proxy = Proxy {
            port,
            upstream,
            task: std::sync::Mutex::new(None),
            frozen: Default::default(),
        };
        proxy.serve(listener);
        proxy
    }

    /// The test server's URL through the proxy, database `db`.
    pub fn url(&self, db: &str) -> String {
        let mut u = url::Url::parse(&server_url()).expect("test server URL");
        u.set_port(Some(self.port)).expect("set port");
        u.set_path(&format!("/{db}"));
        // Otherwise mysql_async switches a loopback TCP connection to the
        // server's Unix socket, around the proxy.
        u.query_pairs_mut().append_pair("prefer_socket", "false");
        u.to_string()
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let upstream = self.upstream.clone();
        let frozen = self.frozen.clone();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => {
                        let Ok((client, _)) = accepted else { break };
                        let (upstream, frozen) = (upstream.clone(), frozen.clone());
                        conns.spawn(async move {
                            if let Ok(server) = tokio::net::TcpStream::connect(&upstream).await {
                                let (cr, cw) = client.into_split();
                                let (sr, sw) = server.into_split();
                                tokio::join!(pipe(cr, sw, frozen.clone()), pipe(sr, cw, frozen));
                            }
                        });
                    }
                }
            }
            drop(listener);
            // Cuts every proxied connection and waits until their sockets are closed.
            conns.shutdown().await;
        });
        *self.task.lock().unwrap() = Some((stop, task));
    }

    /// Partition: connections stay open but no byte goes through, either way,
    /// until [`Proxy::thaw`].
    pub fn freeze(&self) {
        self.frozen.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Ends a partition.
    pub fn thaw(&self) {
        self.frozen.store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// Outage: closes the listener and cuts every proxied connection.
    pub async fn down(&self) {
        let running = self.task.lock().unwrap().take();
        if let Some((stop, task)) = running {
            let _ = stop.send(());
            let _ = task.await;
        }
    }

    /// The server is back, on the same port.
    pub async fn up(&self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("rebind proxy port");
        self.serve(listener);
    }
}
