//! Run with: cargo bench -p scheduler-benches --bench store_ops
//!
//! Cost of the memory store's hot calls, one caller, 50 000 rows. Prints
//! `store_ops op=<name> ns_per_op=<x>` per call. The engine makes about four
//! of these per fire (claim, record attempt, accept, report).

use scheduler_core::*;
use std::time::Instant;

fn line(op: &str, start: Instant, n: usize) {
    println!("store_ops op={op} ns_per_op={}", start.elapsed().as_nanos() / n as u128);
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let s = MemoryStore::new();
        let now = chrono::Utc::now();
        let (task, _) = NewTask::new("t", "* * * * * *")
            .validate(TaskId::generate(), now)
            .expect("valid task");
        s.create_task(&task, &[]).await.expect("create");
        let n = 50_000;
        let t = Instant::now();
        let es: Vec<_> = (0..n)
            .map(|i| {
                let at = now + chrono::Duration::seconds(i as i64);
                Execution::new_pending(task.id.clone(), TriggerType::Schedule, at, None, now)
            })
            .collect();
        line("new_execution", t, n);
        let t = Instant::now();
        for e in &es {
            s.claim_fire(e, None).await.expect("claim");
        }
        line("claim_fire", t, n);
        let t = Instant::now();
        for e in &es {
            let ch = ExecutionChange {
                dispatched_at: Some(Some(now)),
                callback_token: Some(Some(format!("{:032x}", 7u128))),
                ..Default::default()
            };
            let g = ExecutionGuard::status_in(&[ExecutionStatus::Pending]).dispatched(false);
            s.update_execution(&e.id, &g, &ch).await.expect("update");
        }
        line("update_execution", t, n);
        let t = Instant::now();
        for e in &es {
            s.get_execution(&e.id).await.expect("get");
        }
        line("get_execution", t, n);
        let t = Instant::now();
        for _ in 0..n {
            s.dispatch_candidates(&task.id).await.expect("candidates");
        }
        line("dispatch_candidates", t, n);
    });
}
