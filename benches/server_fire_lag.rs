//! Run with: cargo build --release -p scheduler-server && cargo bench -p scheduler-benches --bench server_fire_lag
//!
//! The server end to end: the real `scheduler-server` binary (release build,
//! `SCHEDULER_BIN` to choose another) with N tasks firing every second,
//! dispatched over HTTP to a fast executor in this process that answers each
//! `/execute` with `success` at once. The start lag of a fire is when the
//! executor received it minus its scheduled instant. Prints one line per
//! store and N:
//!
//! `server_fire_lag store=<memory|mysql> n=<N> p50_ms=.. p99_ms=.. max_ms=.. expected=.. seen=.. missed=..`
//!
//! `SERVER_FIRE_LAG_N` (default `5000`), `SERVER_FIRE_LAG_STORE` (default
//! `memory`; `mysql` uses a database of the run's own on the local MariaDB),
//! `SERVER_FIRE_LAG_SECS` (default 20). The server runs with
//! `scheduler.max_workers: 256`; client and server share the machine's cores.

use axum::Json;
use axum::extract::State;
use axum::routing::{get, post};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use scheduler_benches::{BenchDb, percentile};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Lags of the fires received in the measured window, by (task, instant).
struct Received {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    lags: Mutex<HashMap<(String, i64), f64>>,
}

async fn execute(State(r): State<Arc<Received>>, Json(body): Json<Value>) -> Json<Value> {
    let now = Utc::now();
    let scheduled = body["scheduled_time"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc));
    if let (Some(t), Some(task)) = (scheduled, body["task_id"].as_str())
        && t >= r.from
        && t <= r.to
    {
        let lag = (now - t).num_microseconds().unwrap_or(0) as f64 / 1000.0;
        r.lags
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((task.to_owned(), t.timestamp()), lag);
    }
    Json(json!({"status": "success"}))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_or(18080, |a| a.port())
}

fn binary() -> String {
    std::env::var("SCHEDULER_BIN").unwrap_or_else(|_| {
        let target =
            std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| format!("{}/../target", env!("CARGO_MANIFEST_DIR")));
        format!("{target}/release/scheduler-server")
    })
}

async fn run(store: &str, n: usize, secs: i64) -> Result<String, BoxError> {
    let db = (store == "mysql").then(BenchDb::create);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = std::env::temp_dir().join(format!("server_fire_lag_{}.yaml", std::process::id()));
    std::fs::write(&config, "scheduler:\n  max_workers: 256\n")?;
    let mut cmd = tokio::process::Command::new(binary());
    cmd.arg("--config").arg(&config).arg("--port").arg(port.to_string());
    cmd.env("RUST_LOG", "warn").kill_on_drop(true);
    if let Some(db) = &db {
        cmd.arg("--database-url").arg(db.url());
    }
    let mut server = cmd.stdout(std::process::Stdio::null()).spawn()?;
    let client = reqwest::Client::builder().no_proxy().build()?;
    let mut up = false;
    for _ in 0..300 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !up {
        return Err(format!("the server at {base} did not start ({})", binary()).into());
    }

    // The executor records nothing until the window opens (once every task
    // exists): the current window is swapped in then.
    let closed = Arc::new(Received {
        from: DateTime::<Utc>::MAX_UTC,
        to: DateTime::<Utc>::MAX_UTC,
        lags: Mutex::new(HashMap::new()),
    });
    let current = Arc::new(Mutex::new(closed));
    let shared = current.clone();
    let router = axum::Router::new()
        .route(
            "/execute",
            post(move |body: Json<Value>| {
                let r = shared.lock().unwrap_or_else(|p| p.into_inner()).clone();
                async move { execute(State(r), body).await }
            }),
        )
        .route("/stop", post(|| async { "ok" }))
        .route("/health", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let executor_url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let r = client
        .post(format!("{base}/api/v1/executors/register"))
        .json(&json!({"name": "bench", "instance_id": "bench-1", "base_url": executor_url}))
        .send()
        .await?;
    if !r.status().is_success() {
        return Err(format!("register: {}", r.status()).into());
    }
    for i in 0..n {
        let r = client
            .post(format!("{base}/api/v1/tasks"))
            .json(&json!({"name": format!("job-{i}"), "cron_expression": "* * * * * *", "max_retry": 0}))
            .send()
            .await?;
        if r.status().as_u16() != 201 {
            return Err(format!("create task: {}", r.status()).into());
        }
    }
    let now = Utc::now();
    let from = now.duration_trunc(TimeDelta::seconds(1)).unwrap_or(now) + TimeDelta::seconds(3);
    let to = from + TimeDelta::seconds(secs - 1);
    let window = Arc::new(Received {
        from,
        to,
        lags: Mutex::new(HashMap::new()),
    });
    *current.lock().unwrap_or_else(|p| p.into_inner()) = window.clone();
    let end = to + TimeDelta::milliseconds(1500);
    if let Ok(d) = (end - Utc::now()).to_std() {
        tokio::time::sleep(d).await;
    }
    let _ = server.start_kill();
    let _ = server.wait().await;
    let _ = std::fs::remove_file(&config);
    drop(db);
    let mut lags: Vec<f64> = window
        .lags
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .copied()
        .collect();
    lags.sort_by(f64::total_cmp);
    let expected = n as u64 * secs as u64;
    let seen = lags.len() as u64;
    Ok(format!(
        "server_fire_lag store={store} n={n} p50_ms={:.3} p99_ms={:.3} max_ms={:.3} expected={expected} seen={seen} missed={}",
        percentile(&lags, 50.0),
        percentile(&lags, 99.0),
        lags.last().copied().unwrap_or(f64::NAN),
        expected.saturating_sub(seen)
    ))
}

fn main() -> Result<(), BoxError> {
    let ns: Vec<usize> = std::env::var("SERVER_FIRE_LAG_N")
        .unwrap_or_else(|_| "5000".to_owned())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let stores: Vec<String> = std::env::var("SERVER_FIRE_LAG_STORE")
        .unwrap_or_else(|_| "memory".to_owned())
        .split(',')
        .map(|s| s.trim().to_owned())
        .collect();
    let secs: i64 = std::env::var("SERVER_FIRE_LAG_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    for store in &stores {
        for &n in &ns {
            println!("{}", rt.block_on(run(store, n, secs))?);
        }
    }
    Ok(())
}
