//! Run with: cargo run --example embedded
//!
//! Embeds the scheduler in a program with two async handlers, no database and
//! no HTTP. You will see `tick` fire every two seconds, `flaky` fail and be
//! retried with backoff, and a summary of both tasks' statistics; it stops
//! by itself after about ten seconds (or at Ctrl-C).

use scheduler_core::{NewTask, Scheduler};
use serde_json::json;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

static FLAKY_CALLS: AtomicU32 = AtomicU32::new(0);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("warn").init();

    let scheduler = Scheduler::builder()
        .handler("tick", |ctx| async move {
            println!(
                "tick     scheduled {} attempt {}",
                ctx.scheduled_time.format("%H:%M:%S"),
                ctx.retry_count
            );
            Ok::<_, String>(json!({ "ok": true }))
        })
        .handler("flaky", |ctx| async move {
            let n = FLAKY_CALLS.fetch_add(1, Ordering::SeqCst);
            println!(
                "flaky    scheduled {} attempt {}",
                ctx.scheduled_time.format("%H:%M:%S"),
                ctx.retry_count
            );
            if n % 3 == 2 {
                Ok(json!({ "calls": n + 1 }))
            } else {
                Err(format!("transient failure #{}", n + 1))
            }
        })
        .build();
    scheduler.start().await?;

    let tick = scheduler.add_task(NewTask::new("tick", "*/2 * * * * *")).await?;
    let flaky = scheduler
        .add_task(NewTask::new("flaky", "*/5 * * * * *").max_retry(3))
        .await?;
    println!("tasks created; next tick at {:?}", tick.next_run_time);

    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs(10)) => {}
        _ = tokio::signal::ctrl_c() => {}
    }

    for task in [&tick, &flaky] {
        let stats = scheduler.task_stats(&task.id).await?;
        println!(
            "{:<8} total={} success={} failed={} health_score={:?}",
            task.name, stats.last_24h.total, stats.last_24h.success, stats.last_24h.failed, stats.health_score
        );
    }
    scheduler.shutdown().await;
    Ok(())
}
