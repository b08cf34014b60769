//! Run with: cargo run --release -p scheduler-mysql --example mysql_throughput
//!
//! Claim-and-record throughput of `MysqlStore`: how many scheduled fires per
//! second it claims (`claim_fire`) and records to the end (`update_execution`
//! pending -> running -> success, each under its compare-and-set guard), with
//! 1, 4 and 16 concurrent callers, each firing a task of its own. Side by side,
//! the ceiling: the same number of callers inserting single rows into a table
//! of the same shape (`CREATE TABLE ... LIKE task_executions`) through the same
//! driver, one prepared `INSERT` per row, nothing else.
//!
//! Prints one line per concurrency:
//!
//! ```text
//! mysql_throughput concurrency=4 fires_per_s=... raw_insert_per_s=... ratio=...
//! ```
//!
//! and, on stderr, the mean latency of each call. The server comes from
//! `SCHEDULER_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306`); each
//! phase lasts `BENCH_SECONDS` (default 5).
//! The benchmark creates a database of its own and drops it at the end.

use chrono::{DateTime, Duration as TimeDelta, NaiveDateTime, TimeZone, Utc};
use diesel::QueryResult;
use diesel::mysql::Mysql;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Datetime, Integer, Nullable, Text, Unsigned};
use diesel_async::{AsyncConnection, AsyncMysqlConnection, SimpleAsyncConnection};
use scheduler_core::*;
use scheduler_mysql::MysqlStore;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const CONCURRENCY: [usize; 3] = [1, 4, 16];

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

fn parameters() -> serde_json::Value {
    serde_json::json!({"report": "daily", "limit": 100})
}

/// Time spent in each store call, in microseconds, summed over all callers.
#[derive(Default)]
struct StepTimes {
    claim: AtomicU64,
    running: AtomicU64,
    success: AtomicU64,
}

fn add_elapsed(total: &AtomicU64, since: Instant) {
    total.fetch_add(
        u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
}

/// One scheduled fire, recorded to the end.
async fn fire(
    store: &MysqlStore,
    task: &TaskId,
    executor: &ExecutorId,
    n: i64,
    times: &StepTimes,
) -> Result<(), StoreError> {
    let at = base() + TimeDelta::seconds(n);
    let now = Utc::now();
    let e = Execution::new_pending(task.clone(), TriggerType::Schedule, at, Some(parameters()), now);
    let t = Instant::now();
    store.claim_fire(&e, Some(at + TimeDelta::seconds(1))).await?;
    add_elapsed(&times.claim, t);
    let running = ExecutionChange {
        status: Some(ExecutionStatus::Running),
        executor_id: Some(Some(executor.clone())),
        start_time: Some(Some(now)),
        dispatched_at: Some(Some(now)),
        timeout_at: Some(Some(now + TimeDelta::seconds(300))),
        callback_token: Some(Some("0123456789abcdef0123456789abcdef".into())),
        ..ExecutionChange::default()
    };
    let pending = ExecutionGuard::status_in(&[ExecutionStatus::Pending])
        .attempt(0)
        .dispatched(false);
    let t = Instant::now();
    store.update_execution(&e.id, &pending, &running).await?;
    add_elapsed(&times.running, t);
    let success = ExecutionChange {
        status: Some(ExecutionStatus::Success),
        end_time: Some(Some(Utc::now())),
        result: Some(Some(serde_json::json!({"rows": 42}))),
        append_log: Some("finished".into()),
        ..ExecutionChange::default()
    };
    let is_running = ExecutionGuard::status_in(&[ExecutionStatus::Running]).attempt(0);
    let t = Instant::now();
    store.update_execution(&e.id, &is_running, &success).await?;
    add_elapsed(&times.success, t);
    Ok(())
}

/// A plain single-row `INSERT` of an execution-shaped row, prepared once per
/// connection (the same statement cache the store uses).
struct RawInsert {
    id: String,
    task_id: String,
    scheduled: NaiveDateTime,
    created: NaiveDateTime,
    parameters: Option<String>,
}

impl QueryId for RawInsert {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<Mysql> for RawInsert {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Mysql>) -> QueryResult<()> {
        out.push_sql(
            "INSERT INTO bench_raw (id, task_id, executor_id, trigger_type, scheduled_time, fire_key, \
             start_time, end_time, status, parameters, result, logs, retry_count, created_at, dispatched_at, \
             next_attempt_at, timeout_at, callback_token, row_version) VALUES (",
        );
        out.push_bind_param::<Text, _>(&self.id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&self.task_id)?;
        out.push_sql(", NULL, 'schedule', ");
        out.push_bind_param::<Datetime, _>(&self.scheduled)?;
        out.push_sql(", ");
        out.push_bind_param::<Datetime, _>(&self.scheduled)?;
        out.push_sql(", NULL, NULL, 'pending', ");
        out.push_bind_param::<Nullable<Text>, _>(&self.parameters)?;
        out.push_sql(", NULL, NULL, ");
        out.push_bind_param::<Unsigned<Integer>, _>(&0u32)?;
        out.push_sql(", ");
        out.push_bind_param::<Datetime, _>(&self.created)?;
        out.push_sql(", NULL, NULL, NULL, NULL, ");
        out.push_bind_param::<Unsigned<BigInt>, _>(&0u64)?;
        out.push_sql(")");
        Ok(())
    }
}

/// Runs `workers` loops of `step` for `duration`; completed steps per second.
async fn measure<F, Fut>(workers: usize, duration: Duration, step: F) -> Result<f64, BoxError>
where
    F: Fn(usize, i64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), BoxError>> + Send,
{
    let step = Arc::new(step);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let (step, stop, done) = (step.clone(), stop.clone(), done.clone());
            tokio::spawn(async move {
                let mut n: i64 = 0;
                while !stop.load(Ordering::Relaxed) {
                    step(w, n).await?;
                    n += 1;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<(), BoxError>(())
            })
        })
        .collect();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.await??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

fn with_database(url: &str, db: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.set_path(&format!("/{db}"));
            u.to_string()
        }
        Err(_) => format!("{}/{db}", url.trim_end_matches('/')),
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), BoxError> {
    let server = std::env::var("SCHEDULER_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into());
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let duration = Duration::from_secs(seconds);
    let db = format!("sched_bench_{}", uuid::Uuid::now_v7().simple());
    let mut admin = AsyncMysqlConnection::establish(&server).await?;
    admin
        .batch_execute(&format!("CREATE DATABASE `{db}` CHARACTER SET utf8mb4"))
        .await?;
    let url = with_database(&server, &db);
    let result = run(&url, duration).await;
    admin.batch_execute(&format!("DROP DATABASE `{db}`")).await?;
    result
}

async fn run(url: &str, duration: Duration) -> Result<(), BoxError> {
    let max = CONCURRENCY.iter().copied().max().unwrap_or(1);
    let store = Arc::new(MysqlStore::connect(url, u32::try_from(max)?).await?);
    let mut setup = AsyncMysqlConnection::establish(url).await?;
    setup
        .batch_execute("CREATE TABLE bench_raw LIKE task_executions")
        .await?;

    let now = Utc::now();
    let executor = ExecutorRegistration {
        name: "bench".into(),
        instance_id: "bench-1".into(),
        base_url: "http://127.0.0.1:9".into(),
        health_check_url: None,
        metadata: None,
    }
    .validate(ExecutorId::generate(), now)?;
    let executor = store.register_executor(&executor).await?.0.id;

    let mut total_fires = 0u64;
    for (round, &c) in CONCURRENCY.iter().enumerate() {
        // One task per caller, fresh for every round.
        let mut tasks = Vec::with_capacity(c);
        for w in 0..c {
            let (task, _) =
                NewTask::new(format!("bench-{round}-{w}"), "* * * * * *").validate(TaskId::generate(), now)?;
            tasks.push(store.create_task(&task, &[]).await?.id);
        }
        let tasks = Arc::new(tasks);
        let fired = Arc::new(AtomicU64::new(0));
        let times = Arc::new(StepTimes::default());
        let fires_per_s = {
            let (store, tasks, executor, fired, times) = (
                store.clone(),
                tasks.clone(),
                executor.clone(),
                fired.clone(),
                times.clone(),
            );
            measure(c, duration, move |w, n| {
                let (store, tasks, executor, fired, times) = (
                    store.clone(),
                    tasks.clone(),
                    executor.clone(),
                    fired.clone(),
                    times.clone(),
                );
                async move {
                    fire(&store, &tasks[w], &executor, n, &times).await?;
                    fired.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }
            })
            .await?
        };
        let fires = fired.load(Ordering::Relaxed);
        total_fires += fires;

        let mut conns = Vec::with_capacity(c);
        for _ in 0..c {
            conns.push(tokio::sync::Mutex::new(AsyncMysqlConnection::establish(url).await?));
        }
        let conns = Arc::new(conns);
        let raw_time = Arc::new(AtomicU64::new(0));
        let raw_count = Arc::new(AtomicU64::new(0));
        let raw_per_s = {
            let (conns, tasks, raw_time, raw_count) =
                (conns.clone(), tasks.clone(), raw_time.clone(), raw_count.clone());
            measure(c, duration, move |w, n| {
                let (conns, tasks, raw_time, raw_count) =
                    (conns.clone(), tasks.clone(), raw_time.clone(), raw_count.clone());
                async move {
                    let row = RawInsert {
                        id: ExecutionId::generate().into_string(),
                        task_id: tasks[w].to_string(),
                        scheduled: (base() + TimeDelta::seconds(n)).naive_utc(),
                        created: Utc::now().naive_utc(),
                        parameters: Some(parameters().to_string()),
                    };
                    let mut conn = conns[w].lock().await;
                    let t = Instant::now();
                    diesel_async::RunQueryDsl::execute(row, &mut *conn).await?;
                    add_elapsed(&raw_time, t);
                    raw_count.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }
            })
            .await?
        };
        println!(
            "mysql_throughput concurrency={c} fires_per_s={fires_per_s:.0} raw_insert_per_s={raw_per_s:.0} ratio={:.2}",
            fires_per_s / raw_per_s
        );
        let per = |total: &AtomicU64, n: u64| total.load(Ordering::Relaxed) / n.max(1);
        eprintln!(
            "  mean latency (us): claim_fire={} running={} success={} raw_insert={}",
            per(&times.claim, fires),
            per(&times.running, fires),
            per(&times.success, fires),
            per(&raw_time, raw_count.load(Ordering::Relaxed)),
        );
    }

    // Every claimed fire was recorded to the end.
    let counts = store.system_counts().await?;
    assert_eq!(counts.executions_pending + counts.executions_running, 0);
    let mut n = 0u64;
    let page = store
        .list_executions(
            &ExecutionFilter {
                status: Some(ExecutionStatus::Success),
                ..ExecutionFilter::default()
            },
            Page::new(1, 1),
        )
        .await?;
    n += page.total;
    assert_eq!(n, total_fires, "every fire ends in success");
    eprintln!("checked: {total_fires} fires, all success");
    Ok(())
}
