//! Run with: cargo run --example cluster
//!
//! Two engines in one program share one store and compete for one leader
//! lock, as two server processes do on one MySQL database. You will see only
//! the leader run the task; then the leader dies, the other engine takes over
//! within a heartbeat, and at the end every scheduled instant has run exactly
//! once.

use scheduler_core::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

fn engine(name: &'static str, store: Arc<MemoryStore>, lock: &LocalLock) -> (Scheduler, Arc<LocalLeadership>) {
    let leadership = lock.contender(Duration::from_millis(500));
    let scheduler = Scheduler::builder()
        .instance_id(name)
        .store(store)
        .leadership(leadership.clone())
        .handler("tick", move |ctx| async move {
            println!("{name} runs tick for {}", ctx.scheduled_time.format("%H:%M:%S"));
            Ok::<_, String>(serde_json::Value::Null)
        })
        .build();
    (scheduler, leadership)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = Arc::new(MemoryStore::new());
    let lock = LocalLock::new();
    let (a, a_lock) = engine("alpha", store.clone(), &lock);
    let (b, _b_lock) = engine("beta", store.clone(), &lock);
    a.start().await?;
    b.start().await?;
    println!("leader: {}", lock.holder().unwrap_or_default());

    // Created through the follower; the leader picks it up from the store.
    let task = b.add_task(NewTask::new("tick", "* * * * * *")).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;

    println!("alpha's lock connection dies");
    a_lock.release().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    println!("leader: {}", lock.holder().unwrap_or_default());
    a.shutdown().await;
    b.shutdown().await;

    let runs = store
        .list_executions(
            &ExecutionFilter {
                task_id: Some(task.id.clone()),
                ..Default::default()
            },
            &ListFrom::Page(1),
            1000,
        )
        .await?;
    let mut per_instant: BTreeMap<_, usize> = BTreeMap::new();
    for e in &runs.items {
        *per_instant.entry(e.scheduled_time).or_default() += 1;
    }
    let doubled = per_instant.values().filter(|n| **n > 1).count();
    println!("{} instants fired, {doubled} fired twice", per_instant.len());
    assert_eq!(doubled, 0);
    assert!(per_instant.len() >= 4);
    Ok(())
}
