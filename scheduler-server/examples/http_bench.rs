//! Run with: cargo run --release -p scheduler-server --example http_bench
//!
//! Measures the server on loopback with the in-memory store and prints:
//!
//! ```text
//! http_bench route=list_tasks rps=.. p50_ms=.. p99_ms=.. n=.. errors=..
//! http_bench route=trigger_task rps=.. p50_ms=.. p99_ms=.. n=.. errors=..
//! http_bench dispatch_overhead p50_ms=.. p99_ms=.. n=..
//! ```
//!
//! - `list_tasks`: `GET /api/v1/tasks` (default page) with 1 000 tasks stored,
//!   from `HTTP_BENCH_WORKERS` (16) concurrent keep-alive clients for
//!   `HTTP_BENCH_SECS` (5) seconds.
//! - `trigger_task`: `POST /api/v1/tasks/{id}/trigger` over those tasks, each
//!   trigger dispatched to a fake executor that answers at once.
//! - `dispatch_overhead`: from a task's scheduled instant to the fake
//!   executor receiving `/execute`, over `HTTP_BENCH_FIRE_TASKS` (10) tasks
//!   firing every second for `HTTP_BENCH_FIRE_SECS` (21) seconds.
//!
//! Targets: list ≥ 5 000 req/s with p99 < 10 ms; dispatch overhead p99 < 5 ms.
//! Client and server share the machine's cores, so the figures are a floor.

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use chrono::{DateTime, Utc};
use scheduler_server::Config;
use scheduler_server::Server;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A fake executor: answers `/execute` at once with a final status and
/// records how late each scheduled fire arrived.
#[derive(Default)]
struct Executor {
    lags_ms: Mutex<Vec<f64>>,
}

async fn execute(State(ex): State<Arc<Executor>>, Json(body): Json<Value>) -> Json<Value> {
    let now = Utc::now();
    let scheduled = body["scheduled_time"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok());
    // Manual triggers are scheduled "now" too; only whole-second instants are cron fires.
    if let Some(t) = scheduled
        && t.timestamp_subsec_millis() == 0
    {
        let lag = (now - t.with_timezone(&Utc)).num_microseconds().unwrap_or(0) as f64 / 1000.0;
        ex.lags_ms.lock().unwrap_or_else(|p| p.into_inner()).push(lag);
    }
    Json(json!({"status": "success"}))
}

async fn start_executor(ex: Arc<Executor>) -> String {
    let app = axum::Router::new()
        .route("/execute", post(execute))
        .route("/stop", post(|| async { "ok" }))
        .route("/health", axum::routing::get(|| async { "ok" }))
        .with_state(ex);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the fake executor");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

struct Load {
    n: usize,
    errors: usize,
    elapsed: Duration,
    latencies_ms: Vec<f64>,
}

/// Runs `workers` loops of `request(i)` for `secs` seconds.
async fn load<F, Fut>(workers: usize, secs: u64, request: F) -> Load
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let request = Arc::new(request);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let mut handles = Vec::new();
    for w in 0..workers {
        let request = request.clone();
        handles.push(tokio::spawn(async move {
            let (mut lat, mut errors, mut i) = (Vec::new(), 0usize, w);
            while Instant::now() < deadline {
                let t = Instant::now();
                if !request(i).await {
                    errors += 1;
                }
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
                i += workers;
            }
            (lat, errors)
        }));
    }
    let mut latencies_ms = Vec::new();
    let mut errors = 0;
    for h in handles {
        if let Ok((l, e)) = h.await {
            latencies_ms.extend(l);
            errors += e;
        }
    }
    let elapsed = started.elapsed();
    latencies_ms.sort_by(f64::total_cmp);
    Load {
        n: latencies_ms.len(),
        errors,
        elapsed,
        latencies_ms,
    }
}

fn report(route: &str, l: &Load) {
    println!(
        "http_bench route={route} rps={:.0} p50_ms={:.3} p99_ms={:.3} n={} errors={}",
        l.n as f64 / l.elapsed.as_secs_f64(),
        percentile(&l.latencies_ms, 0.50),
        percentile(&l.latencies_ms, 0.99),
        l.n,
        l.errors
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secs = env_or("HTTP_BENCH_SECS", 5);
    let workers = env_or("HTTP_BENCH_WORKERS", 16) as usize;
    let fire_tasks = env_or("HTTP_BENCH_FIRE_TASKS", 10) as usize;
    let fire_secs = env_or("HTTP_BENCH_FIRE_SECS", 21);

    let config = Config::from_yaml(
        "api:\n  host: 127.0.0.1\n  port: 0\nscheduler:\n  max_workers: 64\n  retry_backoff: 100ms\n",
    )?;
    let server = Server::build(&config).await?;
    let base = format!("http://{}", server.local_addr());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async {
        let _ = stop_rx.await;
    }));

    let executor = Arc::new(Executor::default());
    let executor_url = start_executor(executor.clone()).await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(workers * 2)
        .build()?;
    let r = client
        .post(format!("{base}/api/v1/executors/register"))
        .json(&json!({"name": "bench", "instance_id": "bench-1", "base_url": executor_url}))
        .send()
        .await?;
    assert!(r.status().is_success(), "register: {}", r.status());

    // 1 000 tasks that do not fire during the run.
    let mut ids = Vec::with_capacity(1000);
    for i in 0..1000 {
        let r = client
            .post(format!("{base}/api/v1/tasks"))
            .json(&json!({"name": format!("bench-{i}"), "cron_expression": "0 0 0 1 1 *"}))
            .send()
            .await?;
        let v: Value = r.json().await?;
        ids.push(v["id"].as_str().unwrap_or_default().to_owned());
    }
    let ids = Arc::new(ids);

    let list_url = format!("{base}/api/v1/tasks");
    let c = client.clone();
    let list = load(workers, secs, move |_| {
        let (c, url) = (c.clone(), list_url.clone());
        async move {
            match c.get(&url).send().await {
                Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                Err(_) => false,
            }
        }
    })
    .await;
    report("list_tasks", &list);

    let c = client.clone();
    let (b, tids) = (base.clone(), ids.clone());
    let trigger = load(workers, secs, move |i| {
        let c = c.clone();
        let url = format!("{b}/api/v1/tasks/{}/trigger", tids[i % tids.len()]);
        async move {
            match c.post(&url).send().await {
                Ok(r) => r.status().as_u16() == 201 && r.bytes().await.is_ok(),
                Err(_) => false,
            }
        }
    })
    .await;
    report("trigger_task", &trigger);

    // Let the triggered dispatches drain before measuring fires.
    tokio::time::sleep(Duration::from_secs(2)).await;
    executor.lags_ms.lock().unwrap_or_else(|p| p.into_inner()).clear();
    let mut fire_ids = Vec::new();
    for i in 0..fire_tasks {
        let r = client
            .post(format!("{base}/api/v1/tasks"))
            .json(&json!({"name": format!("fire-{i}"), "cron_expression": "* * * * * *"}))
            .send()
            .await?;
        let v: Value = r.json().await?;
        fire_ids.push(v["id"].as_str().unwrap_or_default().to_owned());
    }
    tokio::time::sleep(Duration::from_secs(fire_secs)).await;
    for id in &fire_ids {
        let _ = client.post(format!("{base}/api/v1/tasks/{id}/pause")).send().await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut lags = executor.lags_ms.lock().unwrap_or_else(|p| p.into_inner()).clone();
    lags.sort_by(f64::total_cmp);
    println!(
        "http_bench dispatch_overhead p50_ms={:.3} p99_ms={:.3} n={}",
        percentile(&lags, 0.50),
        percentile(&lags, 0.99),
        lags.len()
    );

    let _ = stop_tx.send(());
    let _ = serving.await;
    Ok(())
}
