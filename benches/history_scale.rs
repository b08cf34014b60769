//! History at volume on MariaDB: seeds `HISTORY_ROWS` (default 10 000 000)
//! final executions of `HISTORY_TASKS` (100) tasks spread over the last 90
//! days (multi-row `INSERT … SELECT` from MariaDB's sequence engine, so the
//! hourly counters are built by the same triggers as in production), then
//! times through the store what the API does:
//!
//! - `stats_ms`: a task's statistics (24h/7d/90d, daily), mean of 20 calls;
//! - `first_page_ms`: the first page of `GET /executions`, unfiltered;
//! - `filtered_page_ms_max`: the slowest first page with any one filter
//!   (task, executor, each final status, a one-day time range);
//! - `cursor_page_ms`: a page by cursor at depth 1 000 000;
//! - `purge_rows`/`purge_s`: one purge pass of the ~10 % oldest rows (a
//!   retention of 81 days) while 1 000 every-second tasks fire on the same
//!   database, with their fire-lag p99 before and during the purge.
//!
//! Prints one line: `history_scale rows=.. stats_ms=.. first_page_ms=..
//! filtered_page_ms_max=.. cursor_page_ms=.. purge_rows=.. purge_s=..
//! lag_p99_before_ms=.. lag_p99_during_ms=.. stats_equal=..`, and one
//! `history_scale_filter` line per filter.
//!
//! Needs the `mariadb` client and a server at 127.0.0.1:3306 (see
//! `BenchDb`); takes about ten minutes and ~4 GB of disk at 10 M rows.

use chrono::{DateTime, Duration as TimeDelta, Utc};
use scheduler_benches::{BenchDb, percentile};
use scheduler_core::*;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn timed<T, F: Future<Output = T>>(f: F) -> (T, Duration) {
    let t0 = Instant::now();
    let out = f.await;
    (out, t0.elapsed())
}

/// Lags of in-process fires, by phase (0 warm-up, 1 before, 2 during the purge).
#[derive(Default)]
struct Lags {
    phase: AtomicU8,
    before: Mutex<Vec<f64>>,
    during: Mutex<Vec<f64>>,
}

impl Lags {
    fn record(&self, scheduled: DateTime<Utc>) {
        let lag = (Utc::now() - scheduled).num_microseconds().unwrap_or(0) as f64 / 1000.0;
        let slot = match self.phase.load(Ordering::Relaxed) {
            1 => &self.before,
            2 => &self.during,
            _ => return,
        };
        slot.lock().unwrap().push(lag);
    }

    fn p99(v: &Mutex<Vec<f64>>) -> (f64, usize) {
        let mut v = v.lock().unwrap().clone();
        v.sort_by(f64::total_cmp);
        (percentile(&v, 99.0), v.len())
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rows = env("HISTORY_ROWS", 10_000_000);
    let tasks = env("HISTORY_TASKS", 100).max(1);
    let firing = env("HISTORY_FIRING_TASKS", 1_000) as usize;
    let per_task = rows / tasks;
    let db = BenchDb::create();
    let store = scheduler_mysql::MysqlStore::connect_with(
        &db.url(),
        scheduler_mysql::MysqlStoreOptions {
            max_connections: 16,
            ..Default::default()
        },
    )
    .await
    .expect("connect to MariaDB");
    let store: Arc<dyn Store> = Arc::new(store);
    let lags = Arc::new(Lags::default());
    let mut builder = Scheduler::builder().store(store.clone()).config(SchedulerConfig {
        max_workers: 64,
        history: HistoryConfig {
            retention: Some(Duration::from_secs(81 * 86_400)),
            // The bench runs its one pass itself.
            purge_interval: Duration::from_secs(366 * 86_400),
            ..HistoryConfig::default()
        },
        ..SchedulerConfig::default()
    });
    for i in 0..firing {
        let l = lags.clone();
        builder = builder.handler(format!("fire-{i}"), move |ctx| {
            l.record(ctx.scheduled_time);
            async { Ok::<_, String>(serde_json::Value::Null) }
        });
    }
    let scheduler = builder.build();

    // ---- seed ---------------------------------------------------------------
    let now = Utc::now();
    let start = now - TimeDelta::days(90);
    let step_ms = (90 * 86_400_000) / per_task.max(1);
    let mut task_ids = Vec::new();
    for i in 0..tasks {
        let t = scheduler
            .create_task(NewTask::new(format!("history-{i}"), "0 0 0 1 1 *").max_retry(0))
            .await
            .expect("create task");
        task_ids.push(t.id);
    }
    let seed0 = Instant::now();
    let start_sql = start.format("%Y-%m-%d %H:%M:%S%.3f");
    for id in &task_ids {
        let id = id.as_str();
        db.run(&format!(
            "INSERT INTO task_executions (id, task_id, executor_id, trigger_type, scheduled_time, fire_key, \
             start_time, end_time, status, parameters, result, logs, retry_count, created_at, row_version) \
             SELECT CONCAT('{id}-', seq), '{id}', CONCAT('bench-executor-', seq % 10), 'schedule', t, t, \
               t + INTERVAL 5000 MICROSECOND, t + INTERVAL (50 + seq % 200) * 1000 MICROSECOND, \
               CASE WHEN seq % 100 < 97 THEN 'success' WHEN seq % 100 < 99 THEN 'failed' ELSE 'timeout' END, \
               '{{\"n\": 1}}', '{{\"ok\": true}}', 'done', 0, t, 1 \
             FROM (SELECT seq, TIMESTAMP('{start_sql}') + INTERVAL seq * {step_ms} * 1000 MICROSECOND AS t \
                   FROM seq_0_to_{}) s",
            per_task - 1
        ));
    }
    let seeded = tasks * per_task;
    println!(
        "history_scale_seed rows={seeded} seed_s={:.1} rows_per_s={:.0}",
        seed0.elapsed().as_secs_f64(),
        seeded as f64 / seed0.elapsed().as_secs_f64()
    );

    // ---- reads --------------------------------------------------------------
    let probe = &task_ids[0];
    let stats_before = scheduler.task_stats(probe).await.expect("stats");
    let mut stats_total = Duration::ZERO;
    for _ in 0..20 {
        stats_total += timed(scheduler.task_stats(probe)).await.1;
    }
    let stats_ms = ms(stats_total) / 20.0;
    let page = |filter: ExecutionFilter, from: ListFrom| {
        let store = store.clone();
        async move {
            let (p, d) = timed(store.list_executions(&filter, &from, 20)).await;
            let p = p.expect("list");
            (p, d)
        }
    };
    // Warm the buffer pool the way a running server would be.
    page(ExecutionFilter::default(), ListFrom::Page(1)).await;
    let (first, first_d) = page(ExecutionFilter::default(), ListFrom::Page(1)).await;
    assert_eq!(first.items.len(), 20);
    let day = now - TimeDelta::days(45);
    let filters: Vec<(&str, ExecutionFilter)> = vec![
        (
            "task_id",
            ExecutionFilter {
                task_id: Some(task_ids[tasks as usize / 2].clone()),
                ..Default::default()
            },
        ),
        (
            "executor_id",
            ExecutionFilter {
                executor_id: Some(ExecutorId::new("bench-executor-3")),
                ..Default::default()
            },
        ),
        (
            "status=success",
            ExecutionFilter {
                status: Some(ExecutionStatus::Success),
                ..Default::default()
            },
        ),
        (
            "status=failed",
            ExecutionFilter {
                status: Some(ExecutionStatus::Failed),
                ..Default::default()
            },
        ),
        (
            "status=timeout",
            ExecutionFilter {
                status: Some(ExecutionStatus::Timeout),
                ..Default::default()
            },
        ),
        (
            "from_to_one_day",
            ExecutionFilter {
                from: Some(day),
                to: Some(day + TimeDelta::days(1)),
                ..Default::default()
            },
        ),
    ];
    let mut filtered_max = 0.0f64;
    for (name, f) in filters {
        page(f.clone(), ListFrom::Page(1)).await;
        let (p, d) = page(f, ListFrom::Page(1)).await;
        println!(
            "history_scale_filter filter={name} page_ms={:.1} items={} total={}{}",
            ms(d),
            p.items.len(),
            p.total,
            if p.total_is_lower_bound { "+" } else { "" }
        );
        filtered_max = filtered_max.max(ms(d));
    }
    let depth = 1_000_000.min(seeded.saturating_sub(21));
    let edge = db.query(&format!(
        "SELECT DATE_FORMAT(scheduled_time, '%Y-%m-%dT%H:%i:%s.%fZ'), id FROM task_executions \
         ORDER BY scheduled_time DESC, id DESC LIMIT 1 OFFSET {depth}"
    ));
    let (at, id) = edge.trim().split_once('\t').expect("a row at that depth");
    let cursor = ExecutionCursor {
        scheduled_time: at.replace("000Z", "Z").parse().expect("a time"),
        id: ExecutionId::new(id),
    };
    page(ExecutionFilter::default(), ListFrom::After(cursor.clone())).await;
    let (deep, deep_d) = page(ExecutionFilter::default(), ListFrom::After(cursor)).await;
    assert_eq!(deep.items.len(), 20);

    // ---- purge while firing -------------------------------------------------
    scheduler.start().await.expect("start");
    for i in 0..firing {
        scheduler
            .add_task(NewTask::new(format!("fire-{i}"), "* * * * * *").max_retry(0))
            .await
            .expect("add task");
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    lags.phase.store(1, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(15)).await;
    lags.phase.store(2, Ordering::Relaxed);
    let (report, purge_d) = timed(scheduler.purge_history()).await;
    let report = report.expect("purge");
    lags.phase.store(0, Ordering::Relaxed);
    scheduler.shutdown().await;
    let stats_after = scheduler.task_stats(probe).await.expect("stats");
    let (before_p99, before_n) = Lags::p99(&lags.before);
    let (during_p99, during_n) = Lags::p99(&lags.during);
    println!(
        "history_scale rows={seeded} stats_ms={stats_ms:.1} first_page_ms={:.1} filtered_page_ms_max={filtered_max:.1} \
         cursor_page_ms={:.1} purge_rows={} purge_s={:.1} lag_p99_before_ms={before_p99:.1} \
         lag_p99_during_ms={during_p99:.1} fires_before={before_n} fires_during={during_n} stats_equal={}",
        ms(first_d),
        ms(deep_d),
        report.expired,
        purge_d.as_secs_f64(),
        stats_before == stats_after
    );
    drop(scheduler);
    drop(db);
}
