//! Helpers of this crate's integration tests beyond `TestDb` (the feature
//! `test-util` of this crate, shared with the server's tests): killing
//! connections and a proxy that can take the database away.

#![allow(dead_code)]

use diesel_async::{AsyncConnection, AsyncMysqlConnection, SimpleAsyncConnection};
pub use scheduler_mysql::test_util::TestDb;

/// The test server's URL, without a database.
pub fn server_url() -> String {
    TestDb::server_url()
}

/// Whether the test server answers, by `TestDb`'s rule: under `CI=true` an
/// unreachable server fails the test, otherwise it is skipped loudly.
pub async fn reachable() -> bool {
    match TestDb::create().await {
        Some(db) => {
            db.drop_db().await;
            true
        }
        None => false,
    }
}

/// A connection to the test server (no database); only called once
/// [`reachable`] or `TestDb::create` said it answers.
async fn admin() -> AsyncMysqlConnection {
    AsyncMysqlConnection::establish(&server_url())
        .await
        .expect("the test server answered a moment ago")
}

/// Makes sure the server connection `connection_id` is dead: `KILL <id>` from
/// a fresh connection of its own (a connection that already ended is fine).
pub async fn kill(connection_id: u64) {
    let mut admin = admin().await;
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
    let mut admin = admin().await;
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
