//! Run with: cargo bench -p scheduler-benches --bench scale
//!
//! 100 000 tasks in the in-memory engine (SCALE_N to change): how long it
//! takes to add them through the engine, how long a fresh engine takes to
//! start and load them from the store, the process RSS after that, and the
//! CPU the idle engine uses over 10 s (SCALE_IDLE_SECS), measured twice: right
//! after startup (`startup_idle_cpu_s`, which includes the change poll
//! re-reading, for its 3 s overlap, the tasks created just before), and then
//! over the next 10 s (`idle_cpu_s`). Tasks fire once a year at spread-out
//! instants, so nothing fires during the measurement.
//! Prints `scale n=<N> add_ms=.. startup_ms=.. rss_mb=.. idle_cpu_s=.. startup_idle_cpu_s=..`.

use scheduler_benches::{cpu_time, rss_mb};
use scheduler_core::{MemoryStore, NewTask, Scheduler};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let n: usize = std::env::var("SCALE_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let idle: u64 = std::env::var("SCALE_IDLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let store = Arc::new(MemoryStore::new());
        let first = Scheduler::builder().store(store.clone()).build();
        first.start().await.expect("start");
        let t = Instant::now();
        for i in 0..n {
            // Once a year (1 July), at instants spread over the day.
            let cron = format!("{} {} {} 1 7 *", i % 60, (i / 60) % 60, (i / 3600) % 24);
            first
                .add_task(NewTask::new(format!("task-{i}"), cron))
                .await
                .expect("add");
        }
        let add_ms = t.elapsed().as_millis();
        first.shutdown().await;
        drop(first);

        // A restart: a fresh engine loads every task from the store.
        let t = Instant::now();
        let engine = Scheduler::builder().store(store).build();
        engine.start().await.expect("start");
        engine.ready().await;
        let startup_ms = t.elapsed().as_millis();
        let rss = rss_mb();

        let cpu0 = cpu_time();
        tokio::time::sleep(Duration::from_secs(idle)).await;
        let first = cpu_time() - cpu0;
        let cpu1 = cpu_time();
        tokio::time::sleep(Duration::from_secs(idle)).await;
        let steady = cpu_time() - cpu1;
        println!(
            "scale n={n} add_ms={add_ms} startup_ms={startup_ms} rss_mb={rss:.0} idle_cpu_s={:.2} startup_idle_cpu_s={:.2} idle_secs={idle}",
            steady.as_secs_f64(),
            first.as_secs_f64()
        );
        engine.shutdown().await;
    });
}
