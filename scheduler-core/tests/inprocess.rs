//! In-process handlers: the library use of the engine.

mod common;
use common::*;
use scheduler_core::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

async fn engine(build: impl FnOnce(SchedulerBuilder) -> SchedulerBuilder) -> (Scheduler, ManualClock) {
    let clock = ManualClock::new(t0());
    let s = build(Scheduler::builder().clock(Arc::new(clock.clone())).config(config())).build();
    s.start().await.unwrap();
    (s, clock)
}

async fn run_until(clock: &ManualClock, t: chrono::DateTime<chrono::Utc>) {
    if let Ok(d) = (t - clock.now()).to_std() {
        tokio::time::sleep(d).await;
    }
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

async fn executions(s: &Scheduler, task: &TaskId) -> Vec<Execution> {
    let f = ExecutionFilter {
        task_id: Some(task.clone()),
        ..Default::default()
    };
    let mut v = s.store().list_executions(&f, Page::new(1, 1000)).await.unwrap().items;
    v.reverse();
    v
}

#[tokio::test(start_paused = true)]
async fn handlers_run_by_task_name_with_their_context() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let (s, clock) = engine(|b| {
        b.handler("hello", move |ctx: JobContext| {
            let seen = s2.clone();
            async move {
                seen.lock()
                    .unwrap()
                    .push((ctx.scheduled_time, ctx.retry_count, ctx.parameters.clone()));
                Ok::<_, String>(serde_json::json!({"said": "hi"}))
            }
        })
    })
    .await;
    let mut p = JsonObject::new();
    p.insert("x".into(), 1.into());
    let task = s
        .add_task(NewTask::new("hello", "*/5 * * * * *").parameters(p))
        .await
        .unwrap();
    run_until(&clock, t0() + secs(11)).await;
    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0], (t0() + secs(5), 0, Some(serde_json::json!({"x": 1}))));
    let ex = executions(&s, &task.id).await;
    assert!(ex.iter().all(|e| e.status == ExecutionStatus::Success));
    assert_eq!(ex[0].result, Some(serde_json::json!({"said": "hi"})));
    let stats = s.task_stats(&task.id).await.unwrap();
    assert_eq!(
        (stats.last_24h.total, stats.last_24h.success, stats.health_score),
        (2, 2, Some(100))
    );
}

#[tokio::test(start_paused = true)]
async fn errors_and_panics_fail_the_attempt_and_are_retried() {
    let calls = Arc::new(AtomicU32::new(0));
    let c2 = calls.clone();
    let (s, clock) = engine(|b| {
        b.handler("flaky", move |_ctx| {
            let n = c2.fetch_add(1, Ordering::SeqCst);
            async move {
                match n {
                    0 => Err("boom".to_owned()),
                    1 => panic!("handler bug"),
                    _ => Ok(serde_json::json!(n)),
                }
            }
        })
    })
    .await;
    let task = s.add_task(NewTask::new("flaky", "0 0 0 1 1 *").paused()).await.unwrap();
    let exec = s.trigger(&task.id, None).await.unwrap();
    run_until(&clock, t0() + secs(5)).await;
    let e = s.store().get_execution(&exec.id).await.unwrap();
    assert_eq!((e.status, e.retry_count), (ExecutionStatus::Success, 2));
    let logs = e.logs.unwrap();
    assert!(
        logs.contains("handler failed: boom") && logs.contains("handler panicked"),
        "{logs}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_task_without_a_handler_is_refused() {
    let (s, clock) = engine(|b| b.handler("known", |_| async { Ok::<_, String>(serde_json::Value::Null) })).await;
    let task = s
        .add_task(NewTask::new("unknown", "0 0 0 1 1 *").max_retry(0).paused())
        .await
        .unwrap();
    let exec = s.trigger(&task.id, None).await.unwrap();
    run_until(&clock, t0() + secs(1)).await;
    let e = s.store().get_execution(&exec.id).await.unwrap();
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert!(e.logs.unwrap().contains("no in-process handler named \"unknown\""));
}

#[tokio::test(start_paused = true)]
async fn timeout_and_stop_cancel_the_handler() {
    let finished = Arc::new(AtomicU32::new(0));
    let f2 = finished.clone();
    let (s, clock) = engine(|b| {
        b.handler("slow", move |ctx: JobContext| {
            let f = f2.clone();
            async move {
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                f.fetch_add(1, Ordering::SeqCst);
                let _ = ctx;
                Ok::<_, String>(serde_json::Value::Null)
            }
        })
    })
    .await;
    let task = s
        .add_task(
            NewTask::new("slow", "0 0 0 1 1 *")
                .timeout_seconds(2)
                .max_retry(0)
                .paused(),
        )
        .await
        .unwrap();
    let timed = s.trigger(&task.id, None).await.unwrap();
    let stopped = s.trigger(&task.id, None).await.unwrap();
    run_until(&clock, t0() + secs(1)).await;
    assert_eq!(
        s.store().get_execution(&stopped.id).await.unwrap().status,
        ExecutionStatus::Running
    );
    s.stop_execution(&stopped.id).await.unwrap();
    run_until(&clock, t0() + secs(4)).await;
    assert_eq!(
        s.store().get_execution(&timed.id).await.unwrap().status,
        ExecutionStatus::Timeout
    );
    assert_eq!(
        s.store().get_execution(&stopped.id).await.unwrap().status,
        ExecutionStatus::Cancelled
    );
    run_until(&clock, t0() + secs(7200)).await;
    assert_eq!(finished.load(Ordering::SeqCst), 0, "both handlers were cancelled");
}

#[tokio::test(start_paused = true)]
async fn shutdown_records_unfinished_handlers_honestly() {
    let mut cfg = config();
    cfg.shutdown_grace = std::time::Duration::from_secs(1);
    let clock = ManualClock::new(t0());
    let store = Arc::new(MemoryStore::new());
    let s = Scheduler::builder()
        .store(store.clone())
        .clock(Arc::new(clock.clone()))
        .config(cfg)
        .handler("forever", |_| async {
            std::future::pending::<()>().await;
            Ok::<_, String>(serde_json::Value::Null)
        })
        .build();
    s.start().await.unwrap();
    let task = s
        .add_task(NewTask::new("forever", "0 0 0 1 1 *").max_retry(0).paused())
        .await
        .unwrap();
    let exec = s.trigger(&task.id, None).await.unwrap();
    run_until(&clock, t0() + secs(1)).await;
    s.shutdown().await;
    let e = store.get_execution(&exec.id).await.unwrap();
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert!(e.logs.unwrap().contains("scheduler shut down"));
}
