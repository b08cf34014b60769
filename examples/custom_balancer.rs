//! Run with: cargo run --example custom_balancer
//!
//! Registers a load-balancing strategy of its own, `same_zone`, which prefers
//! executors whose metadata `zone` matches the task's `zone` parameter and
//! falls back to the first candidate. Three executors are registered (eu-1,
//! eu-2, us-1) and a dispatcher that only prints where each execution went.
//! You will see every run of the task land on an `eu` executor.

use async_trait::async_trait;
use scheduler_core::*;
use serde_json::json;
use std::sync::Arc;

/// Prefers executors in the task's zone.
struct SameZone;

#[async_trait]
impl LoadBalancer for SameZone {
    async fn pick(&self, ctx: &BalanceContext<'_>, candidates: &[Candidate]) -> StoreResult<usize> {
        let zone = ctx
            .task
            .parameters
            .as_ref()
            .and_then(|p| p.get("zone"))
            .and_then(|z| z.as_str());
        let in_zone = |c: &Candidate| {
            let theirs = c
                .executor
                .metadata
                .as_ref()
                .and_then(|m| m.get("zone"))
                .and_then(|z| z.as_str());
            zone.is_some() && theirs == zone
        };
        let local: Vec<usize> = (0..candidates.len()).filter(|&i| in_zone(&candidates[i])).collect();
        if local.is_empty() {
            return Ok(0);
        }
        // Round robin among the executors of the zone, with state in the store.
        ctx.update_state(|next: &mut usize| {
            let i = local[*next % local.len()];
            *next += 1;
            i
        })
        .await
    }
}

/// "Runs" an execution by printing where it went.
struct Print;

#[async_trait]
impl Dispatcher for Print {
    async fn dispatch(&self, executor: &Executor, request: DispatchRequest) -> DispatchOutcome {
        println!(
            "{} -> {} (zone {})",
            request.scheduled_time.format("%H:%M:%S"),
            executor.name,
            executor
                .metadata
                .as_ref()
                .and_then(|m| m.get("zone"))
                .and_then(|z| z.as_str())
                .unwrap_or("-")
        );
        DispatchOutcome::Finished(ExecutionReport {
            status: ExecutionStatus::Success,
            result: None,
            logs: None,
            end_time: None,
        })
    }

    async fn stop(&self, _executor: &Executor, _execution_id: &ExecutionId) {}
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scheduler = Scheduler::builder()
        .dispatcher(Arc::new(Print))
        .balancer("same_zone", Arc::new(SameZone))
        .build();
    scheduler.start().await?;
    for (name, zone) in [("eu-1", "eu"), ("eu-2", "eu"), ("us-1", "us")] {
        let mut metadata = JsonObject::new();
        metadata.insert("zone".into(), json!(zone));
        scheduler
            .register_executor(ExecutorRegistration {
                name: name.into(),
                instance_id: name.into(),
                base_url: format!("http://{name}.example"),
                health_check_url: None,
                metadata: Some(metadata),
            })
            .await?;
    }
    let mut params = JsonObject::new();
    params.insert("zone".into(), json!("eu"));
    let task = scheduler
        .add_task(
            NewTask::new("report", "* * * * * *")
                .parameters(params)
                .load_balance_strategy(StrategyName::new("same_zone")),
        )
        .await?;
    tokio::time::sleep(std::time::Duration::from_millis(4500)).await;
    scheduler.shutdown().await;

    let runs = scheduler
        .store()
        .list_executions(
            &ExecutionFilter {
                task_id: Some(task.id.clone()),
                ..Default::default()
            },
            &ListFrom::Page(1),
            100,
        )
        .await?;
    let us = scheduler
        .store()
        .list_executors(
            &ExecutorFilter {
                name: Some("us-1".into()),
                ..Default::default()
            },
            Page::default(),
        )
        .await?
        .items
        .remove(0);
    assert!(
        runs.items.iter().all(|e| e.executor_id.as_ref() != Some(&us.id)),
        "a run left the zone"
    );
    println!("{} runs, all in zone eu", runs.total);
    Ok(())
}
