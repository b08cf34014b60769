//! Run with: cargo bench -p scheduler-benches --bench memory_soak
//!
//! Two figures of the memory store, each measured in a fresh child process
//! of this program (so one part's freed pages cannot flatter the other):
//!
//! - `memory_store bytes_per_execution=.. rows=..`: RSS after inserting
//!   MEMORY_ROWS (default 1 000 000) final executions straight into a fresh
//!   `MemoryStore` (1 000 tasks, small JSON parameters, an executor, a
//!   callback token, no logs, no result), minus RSS before, per row.
//! - `memory_soak minute=.. rss_mb=.. retained=.. fired=..`, once a minute:
//!   an embedded `Scheduler` with a no-op in-process handler firing
//!   SOAK_TASKS (default 1 000) tasks on `* * * * * *` for SOAK_SECS
//!   (default 600) seconds, history retention 1 minute, purge every 10 s.
//!   `retained` is every execution in the store (`MemoryStore::len`).
//!   The last line, `memory_soak rss_spread_pct=..`, is (max − min) / min of
//!   the RSS samples after the first two minutes.
//!
//! MEMORY_SOAK_PARTS=rows,soak chooses the parts (default both).

use chrono::{TimeDelta, Utc};

// The allocator of the other benchmarks here (see fire_lag.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use scheduler_benches::rss_mb;
use scheduler_core::{
    Execution, ExecutionStatus, Executor, ExecutorId, ExecutorStatus, HistoryConfig, MemoryStore, NewTask, Scheduler,
    SchedulerConfig, Store, TaskId, TriggerType,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn params() -> serde_json::Map<String, serde_json::Value> {
    let serde_json::Value::Object(map) = serde_json::json!({"region": "eu-west", "batch": 100}) else {
        unreachable!("an object literal")
    };
    map
}

/// Inserts final executions into a fresh store and prints RSS per row.
async fn bytes_per_execution(rows: u64) {
    let store = MemoryStore::new();
    let now = Utc::now();
    let tasks: Vec<TaskId> = (0..1_000).map(|i| TaskId::new(format!("task-{i:04}"))).collect();
    for (i, id) in tasks.iter().enumerate() {
        let (task, assigned) = NewTask::new(format!("job-{i}"), "* * * * * *")
            .parameters(params())
            .validate(id.clone(), now)
            .expect("valid task");
        store.create_task(&task, &assigned).await.expect("create task");
    }
    let executor = Executor {
        id: ExecutorId::generate(),
        name: "worker".into(),
        instance_id: "worker-1".into(),
        base_url: "http://127.0.0.1:9000".into(),
        health_check_url: None,
        status: ExecutorStatus::Online,
        is_healthy: true,
        last_health_check: None,
        health_check_failures: 0,
        health_check_successes: 0,
        metadata: None,
        created_at: now,
        updated_at: now,
    };
    store.register_executor(&executor).await.expect("register");
    let before = rss_mb();
    let start = now - TimeDelta::seconds(i64::try_from(rows / 1_000 + 1).unwrap_or(i64::MAX));
    let mut batch = Vec::with_capacity(1_000);
    for n in 0..rows {
        let task = &tasks[(n % 1_000) as usize];
        let at = start + TimeDelta::seconds((n / 1_000) as i64);
        let mut e = Execution::new_pending(
            task.clone(),
            TriggerType::Schedule,
            at,
            Some(serde_json::Value::Object(params())),
            at,
        );
        e.status = ExecutionStatus::Success;
        e.executor_id = Some(executor.id.clone());
        e.dispatched_at = Some(at + TimeDelta::microseconds(150));
        e.start_time = e.dispatched_at;
        e.end_time = Some(at + TimeDelta::microseconds(900));
        e.callback_token = Some(format!("{:032x}", u128::from(n as u32) * 0x9e37_79b9_7f4a_7c15));
        batch.push(e);
        if batch.len() == 1_000 {
            store.claim_fires(&batch).await.expect("claim");
            batch.clear();
        }
    }
    store.claim_fires(&batch).await.expect("claim");
    let after = rss_mb();
    assert_eq!(store.len() as u64, rows, "every row stored");
    println!(
        "memory_store bytes_per_execution={:.0} rows={rows} rss_before_mb={before:.1} rss_after_mb={after:.1}",
        (after - before) * 1024.0 * 1024.0 / rows as f64
    );
}

/// Runs the embedded scheduler and prints RSS once a minute.
async fn soak(tasks: u64, secs: u64) {
    let store = Arc::new(MemoryStore::new());
    let fired = Arc::new(AtomicU64::new(0));
    let mut builder = Scheduler::builder().store(store.clone()).config(SchedulerConfig {
        max_workers: 64,
        history: HistoryConfig {
            retention: Some(Duration::from_secs(60)),
            purge_interval: Duration::from_secs(10),
            ..HistoryConfig::default()
        },
        ..SchedulerConfig::default()
    });
    for i in 0..tasks {
        let fired = fired.clone();
        builder = builder.handler(format!("job-{i}"), move |_ctx| {
            fired.fetch_add(1, Ordering::Relaxed);
            async { Ok::<_, String>(serde_json::Value::Null) }
        });
    }
    let scheduler = builder.build();
    scheduler.start().await.expect("start");
    for i in 0..tasks {
        scheduler
            .add_task(
                NewTask::new(format!("job-{i}"), "* * * * * *")
                    .parameters(params())
                    .max_retry(0),
            )
            .await
            .expect("add task");
    }
    let started = Instant::now();
    let mut samples = Vec::new();
    for minute in 1..=secs.div_ceil(60) {
        let until = started + Duration::from_secs((minute * 60).min(secs));
        tokio::time::sleep_until(until.into()).await;
        let rss = rss_mb();
        samples.push(rss);
        println!(
            "memory_soak minute={minute} rss_mb={rss:.1} retained={} fired={}",
            store.len(),
            fired.load(Ordering::Relaxed)
        );
    }
    scheduler.shutdown().await;
    let settled: Vec<f64> = samples.iter().copied().skip(2).collect();
    if let (Some(min), Some(max)) = (
        settled.iter().copied().reduce(f64::min),
        settled.iter().copied().reduce(f64::max),
    ) {
        println!(
            "memory_soak rss_spread_pct={:.1} minutes={} tasks={tasks}",
            (max - min) / min * 100.0,
            settled.len()
        );
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match std::env::var("MEMORY_SOAK_CHILD").as_deref() {
        Ok("rows") => rt.block_on(bytes_per_execution(env_num("MEMORY_ROWS", 1_000_000))),
        Ok("soak") => rt.block_on(soak(env_num("SOAK_TASKS", 1_000), env_num("SOAK_SECS", 600))),
        _ => {
            let parts = std::env::var("MEMORY_SOAK_PARTS").unwrap_or_else(|_| "rows,soak".into());
            let exe = std::env::current_exe().expect("own path");
            for part in parts.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let status = std::process::Command::new(&exe)
                    .env("MEMORY_SOAK_CHILD", part)
                    .status()
                    .expect("run a part");
                assert!(status.success(), "part {part} failed");
            }
        }
    }
}
