//! Run with: cargo run --example alerts
//!
//! An embedded scheduler whose handler always fails, and the program
//! listening to the scheduler's events. You will see the instance become the
//! leader, then, after the first attempt and two retries (about 3 s), one
//! `execution_failed` event naming the task and the execution; it stops
//! there.

use scheduler_core::{EventKind, NewTask, Scheduler};
use tokio::sync::broadcast::error::RecvError;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("warn").init();

    let scheduler = Scheduler::builder()
        .handler("nightly-report", |_ctx| async move {
            Err::<serde_json::Value, _>("the report database is down".to_owned())
        })
        .build();
    // Subscribe before starting, so no event is missed.
    let mut events = scheduler.subscribe();
    scheduler.start().await?;

    let task = scheduler
        .add_task(NewTask::new("nightly-report", "0 0 3 * * *").max_retry(2))
        .await?;
    scheduler.trigger(&task.id, None).await?;

    loop {
        match events.recv().await {
            Ok(event) => {
                println!("[{}] {} at {}", event.kind, event.message, event.at);
                if event.kind == EventKind::ExecutionFailed {
                    // What an alerting integration would page someone with.
                    println!("  subject: {:?}", event.subject);
                    break;
                }
            }
            // A subscriber that falls behind is told how many events it lost.
            Err(RecvError::Lagged(n)) => println!("missed {n} events"),
            Err(RecvError::Closed) => break,
        }
    }
    scheduler.shutdown().await;
    Ok(())
}
