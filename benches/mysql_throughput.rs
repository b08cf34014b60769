//! Run with: cargo bench -p scheduler-benches --bench mysql_throughput
//!
//! Fires per second through the store calls the engine makes for a fire on
//! MariaDB: `claim_fires` of blocks of executions with their first attempt
//! recorded, then `update_executions` finishing them (`success`, under the
//! engine's guard), with C concurrent callers, each on tasks of its own.
//! In the same run, the ceiling: the same callers inserting the same rows
//! into a copy of the table (`CREATE TABLE … LIKE task_executions`), one
//! multi-row `INSERT` per block, nothing else. Prints one line per C:
//!
//! `mysql_throughput callers=C block=B fires_per_s=F raw_insert_rows_per_s=R ratio=F/R`
//!
//! A fire writes its row twice (claim, final), the ceiling once, so 0.5 is
//! the ratio of a store that costs nothing beyond its writes. The server is
//! `SCHEDULER_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306`); each
//! phase lasts `BENCH_SECONDS` (default 5). The database is the run's own.

use chrono::{DateTime, Duration as TimeDelta, TimeZone, Utc};
use diesel_async::{AsyncConnection, AsyncMysqlConnection, SimpleAsyncConnection};
use scheduler_core::internal::transition;
use scheduler_core::*;
use scheduler_mysql::{MysqlStore, MysqlStoreOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Time spent in claims and in finals, summed over callers (printed on stderr).
static CLAIM_US: AtomicU64 = AtomicU64::new(0);
static FINAL_US: AtomicU64 = AtomicU64::new(0);

const CALLERS: [usize; 3] = [1, 4, 8];
const BLOCK: usize = 500;
const TASKS_PER_CALLER: usize = 500;

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

/// One block of fires of `tasks` at instant `k`, each with its attempt.
fn block(tasks: &[TaskId], executor: &ExecutorId, k: i64) -> Vec<Execution> {
    let at = base() + TimeDelta::seconds(k);
    tasks
        .iter()
        .map(|t| {
            let mut e = Execution::new_pending(t.clone(), TriggerType::Schedule, at, None, at);
            e.executor_id = Some(executor.clone());
            e.dispatched_at = Some(at);
            e.timeout_at = Some(at + TimeDelta::seconds(310));
            e.callback_token = Some(format!("{:032x}", k));
            e
        })
        .collect()
}

/// Claims and finishes blocks until `until`; answers the fires finished.
async fn fire_loop(
    store: &MysqlStore,
    tasks: Vec<TaskId>,
    executor: ExecutorId,
    mut k: i64,
    until: Instant,
) -> Result<u64, BoxError> {
    let mut done = 0;
    while Instant::now() < until {
        k += 1;
        let execs = block(&tasks, &executor, k);
        let t = Instant::now();
        let claimed = store.claim_fires(&execs).await?;
        CLAIM_US.fetch_add(t.elapsed().as_micros() as u64, Ordering::Relaxed);
        let updates: Vec<ExecutionUpdate> = execs
            .iter()
            .zip(claimed)
            .filter(|(_, c)| *c == ClaimOutcome::Claimed)
            .map(|(e, _)| {
                let (guard, change) = transition::succeeded(e, None, None, None, e.scheduled_time);
                ExecutionUpdate {
                    id: e.id.clone(),
                    guard,
                    change,
                }
            })
            .collect();
        let t = Instant::now();
        let applied = store.update_executions(&updates).await?;
        FINAL_US.fetch_add(t.elapsed().as_micros() as u64, Ordering::Relaxed);
        done += applied.iter().filter(|o| **o == UpdateOutcome::Applied).count() as u64;
    }
    Ok(done)
}

fn sql_time(t: DateTime<Utc>) -> String {
    format!("'{}'", t.format("%Y-%m-%d %H:%M:%S%.3f"))
}

/// The same rows as one multi-row `INSERT` statement into `raw_executions`.
fn raw_insert(execs: &[Execution]) -> String {
    let mut sql = String::from(
        "INSERT INTO raw_executions (id, task_id, executor_id, trigger_type, scheduled_time, fire_key, status, \
         retry_count, created_at, dispatched_at, timeout_at, callback_token, row_version) VALUES ",
    );
    for (i, e) in execs.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "('{}', '{}', '{}', 'schedule', {t}, {t}, 'pending', 0, {t}, {t}, {}, '{}', 0)",
            e.id,
            e.task_id,
            e.executor_id.as_ref().map_or("", |x| x.as_str()),
            sql_time(e.timeout_at.unwrap_or(e.scheduled_time)),
            e.callback_token.as_deref().unwrap_or(""),
            t = sql_time(e.scheduled_time),
        ));
    }
    sql
}

async fn raw_loop(
    url: String,
    tasks: Vec<TaskId>,
    executor: ExecutorId,
    mut k: i64,
    until: Instant,
) -> Result<u64, BoxError> {
    let mut c = AsyncMysqlConnection::establish(&url).await?;
    let mut rows = 0;
    while Instant::now() < until {
        k += 1;
        let execs = block(&tasks, &executor, k);
        c.batch_execute(&raw_insert(&execs)).await?;
        rows += execs.len() as u64;
    }
    Ok(rows)
}

/// Runs one caller per task group for `seconds`, each counting what it
/// wrote; answers the total per second.
async fn per_second<F, Fut>(seconds: u64, groups: impl Iterator<Item = Vec<TaskId>>, caller: F) -> Result<f64, BoxError>
where
    F: Fn(Vec<TaskId>, Instant) -> Fut,
    Fut: std::future::Future<Output = Result<u64, BoxError>> + Send + 'static,
{
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let handles: Vec<_> = groups.map(|tasks| tokio::spawn(caller(tasks, until))).collect();
    let mut total = 0;
    for h in handles {
        total += h.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

async fn run() -> Result<(), BoxError> {
    let server = std::env::var("SCHEDULER_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned());
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let db = format!("bench_tp_{}", std::process::id());
    let mut admin = AsyncMysqlConnection::establish(&server).await?;
    admin
        .batch_execute(&format!("CREATE DATABASE `{db}` CHARACTER SET utf8mb4"))
        .await?;
    let url = format!("{}/{db}", server.trim_end_matches('/'));
    let result = async {
        let options = MysqlStoreOptions {
            max_connections: 16,
            ..MysqlStoreOptions::default()
        };
        let store = Arc::new(MysqlStore::connect_with(&url, options).await?);
        let mut c = AsyncMysqlConnection::establish(&url).await?;
        c.batch_execute("CREATE TABLE raw_executions LIKE task_executions").await?;
        let (executor, _) = store
            .register_executor(
                &ExecutorRegistration {
                    name: "bench".to_owned(),
                    instance_id: "bench".to_owned(),
                    base_url: "http://127.0.0.1:9".to_owned(),
                    ..ExecutorRegistration::default()
                }
                .validate(ExecutorId::generate(), Utc::now())?,
            )
            .await?;
        let max = CALLERS.iter().copied().max().unwrap_or(1);
        let mut groups: Vec<Vec<TaskId>> = Vec::new();
        for g in 0..max {
            let mut ids = Vec::with_capacity(TASKS_PER_CALLER);
            for i in 0..TASKS_PER_CALLER {
                let (task, _) = NewTask::new(format!("t-{g}-{i}"), "* * * * * *").validate(TaskId::generate(), Utc::now())?;
                ids.push(store.create_task(&task, &[]).await?.id);
            }
            groups.push(ids);
        }
        for (phase, callers) in CALLERS.into_iter().enumerate() {
            // Each phase fires instants of its own.
            let first = phase as i64 * 1_000_000;
            let fires_per_s = per_second(seconds, groups.iter().take(callers).cloned(), |tasks, until| {
                let (store, executor) = (store.clone(), executor.id.clone());
                async move { fire_loop(&store, tasks, executor, first, until).await }
            })
            .await?;
            eprintln!(
                "  callers={callers}: {} ms in claims, {} ms in finals",
                CLAIM_US.swap(0, Ordering::Relaxed) / 1000,
                FINAL_US.swap(0, Ordering::Relaxed) / 1000
            );
            let raw_per_s = per_second(seconds, groups.iter().take(callers).cloned(), |tasks, until| {
                let (url, executor) = (url.clone(), executor.id.clone());
                async move { raw_loop(url, tasks, executor, first, until).await }
            })
            .await?;
            println!(
                "mysql_throughput callers={callers} block={BLOCK} fires_per_s={fires_per_s:.0} raw_insert_rows_per_s={raw_per_s:.0} ratio={:.2}",
                fires_per_s / raw_per_s
            );
        }
        Ok::<_, BoxError>(())
    }
    .await;
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS `{db}`")).await?;
    result
}

fn main() -> Result<(), BoxError> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(run())
}
