//! Run with: cargo run --example custom_mode
//!
//! Registers an execution mode of its own, `at_most_two`, that lets a task
//! have at most two executions in flight (a cap between `parallel` and
//! `sequential`). The handler takes 2.5 s and the task fires every second:
//! you will see at most two runs at once, and the fires in between not
//! recorded at all.

use async_trait::async_trait;
use scheduler_core::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

/// Dispatch while fewer than two executions are pending or running.
struct AtMostTwo;

#[async_trait]
impl ExecutionMode for AtMostTwo {
    async fn decide(&self, ctx: &ModeContext<'_>) -> StoreResult<FireDecision> {
        let a = ctx.activity().await?;
        Ok(if a.pending + a.running < 2 {
            FireDecision::Dispatch
        } else {
            FireDecision::Drop
        })
    }
}

static IN_FLIGHT: AtomicI32 = AtomicI32::new(0);
static MAX_SEEN: AtomicI32 = AtomicI32::new(0);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scheduler = Scheduler::builder()
        .mode("at_most_two", Arc::new(AtMostTwo))
        .handler("slow", |ctx| async move {
            let now = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
            MAX_SEEN.fetch_max(now, Ordering::SeqCst);
            println!("start {}  (in flight: {now})", ctx.scheduled_time.format("%H:%M:%S"));
            tokio::time::sleep(Duration::from_millis(2500)).await;
            IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, String>(serde_json::Value::Null)
        })
        .build();
    scheduler.start().await?;
    scheduler
        .add_task(NewTask::new("slow", "* * * * * *").execution_mode(ModeName::new("at_most_two")))
        .await?;
    tokio::time::sleep(Duration::from_secs(6)).await;
    scheduler.shutdown().await;
    let max = MAX_SEEN.load(Ordering::SeqCst);
    println!("most runs at once: {max}");
    assert!(max <= 2, "the mode let {max} runs overlap");
    Ok(())
}
