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
    let listed = s
        .store()
        .list_executions(&f, &ListFrom::Page(1), 1000)
        .await
        .unwrap()
        .items;
    let mut v = Vec::with_capacity(listed.len());
    for e in listed.iter().rev() {
        v.push(s.store().get_execution(&e.id).await.unwrap());
    }
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

#[tokio::test(start_paused = true)]
async fn a_panic_before_the_first_await_fails_the_attempt_and_nothing_else() {
    let (s, clock) = engine(|b| {
        b.handler(
            "eager",
            |_ctx: JobContext| -> std::future::Ready<Result<serde_json::Value, String>> {
                panic!("bug before any await")
            },
        )
        .handler("fine", |_ctx| async { Ok::<_, String>(serde_json::json!("ok")) })
    })
    .await;
    let eager = s
        .add_task(NewTask::new("eager", "*/5 * * * * *").max_retry(0))
        .await
        .unwrap();
    let fine = s.add_task(NewTask::new("fine", "*/5 * * * * *")).await.unwrap();
    run_until(&clock, t0() + secs(6)).await;
    let e = executions(&s, &eager.id).await;
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].status, ExecutionStatus::Failed);
    assert!(
        e[0].logs.as_deref().unwrap_or("").contains("handler panicked"),
        "{:?}",
        e[0].logs
    );
    let f = executions(&s, &fine.id).await;
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].status, ExecutionStatus::Success);
    // A handler that finished on its first poll ran at its instant.
    assert_eq!(f[0].start_time, Some(t0() + secs(5)));
}

/// An instant with more fires than one worker sends alone wakes early and
/// waits out the rest on the clock: every fire still starts at or after its
/// instant, never before, including those whose mode is decided at the
/// instant.
#[tokio::test(start_paused = true)]
async fn a_large_instant_fires_everything_at_its_instant_and_never_before() {
    const N: usize = 1100;
    let starts = Arc::new(std::sync::Mutex::new(Vec::new()));
    let clock = ManualClock::new(t0());
    let mut b = Scheduler::builder().clock(Arc::new(clock.clone())).config(config());
    for i in 0..=N {
        let (starts, clock) = (starts.clone(), clock.clone());
        b = b.handler(format!("job-{i}"), move |ctx: JobContext| {
            starts.lock().unwrap().push((ctx.scheduled_time, clock.now()));
            async { Ok::<_, String>(serde_json::Value::Null) }
        });
    }
    let s = b.build();
    s.start().await.unwrap();
    for i in 0..N {
        s.add_task(NewTask::new(format!("job-{i}"), "*/10 * * * * *"))
            .await
            .unwrap();
    }
    // One decided at the instant (sequential), in the same instant.
    s.add_task(NewTask::new(format!("job-{N}"), "*/10 * * * * *").execution_mode("sequential".into()))
        .await
        .unwrap();
    run_until(&clock, t0() + secs(12)).await;
    let starts = starts.lock().unwrap().clone();
    assert_eq!(starts.len(), N + 1, "every task fired once at t0 + 10 s");
    for (scheduled, started) in starts {
        assert_eq!(scheduled, t0() + secs(10));
        assert!(started >= scheduled, "started {started} before its instant {scheduled}");
    }
}

/// A handler readied for its instant does not run if its execution is
/// stopped in the meantime.
#[tokio::test(start_paused = true)]
async fn a_fire_stopped_before_its_instant_does_not_run_its_handler() {
    let calls = Arc::new(AtomicU32::new(0));
    let c2 = calls.clone();
    let (s, clock) = engine(|b| {
        b.handler("once", move |_ctx| {
            c2.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, String>(serde_json::Value::Null) }
        })
    })
    .await;
    let task = s.add_task(NewTask::new("once", "10 * * * * *")).await.unwrap();
    run_until(&clock, t0() + common::ms(9_800)).await;
    let prepared = executions(&s, &task.id).await;
    assert_eq!(prepared.len(), 1, "claimed ahead of its instant");
    s.stop_execution(&prepared[0].id).await.unwrap();
    run_until(&clock, t0() + secs(12)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the handler ran after a stop");
    let e = s.store().get_execution(&prepared[0].id).await.unwrap();
    assert_eq!(e.status, ExecutionStatus::Cancelled);
}

/// Shutting down between a fire's preparation and its instant sends nothing
/// early: the prepared attempt goes back to pending, due at its instant, and
/// the next engine on the store runs it.
#[tokio::test(start_paused = true)]
async fn shutdown_before_an_instant_sends_nothing_early_and_loses_nothing() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let clock = ManualClock::new(t0());
    let calls = Arc::new(std::sync::Mutex::new(Vec::new()));
    let build = |calls: Arc<std::sync::Mutex<Vec<_>>>| {
        let clock2 = clock.clone();
        Scheduler::builder()
            .store(store.clone())
            .clock(Arc::new(clock.clone()))
            .config(config())
            .handler("job", move |ctx: JobContext| {
                calls.lock().unwrap().push((ctx.scheduled_time, clock2.now()));
                async { Ok::<_, String>(serde_json::Value::Null) }
            })
            .build()
    };
    let first = build(calls.clone());
    first.start().await.unwrap();
    let task = first.add_task(NewTask::new("job", "10 * * * * *")).await.unwrap();
    run_until(&clock, t0() + common::ms(9_800)).await;
    assert_eq!(
        executions(&first, &task.id).await.len(),
        1,
        "claimed ahead of its instant"
    );
    first.shutdown().await;
    assert!(calls.lock().unwrap().is_empty(), "sent before its instant on shutdown");
    let e = executions(&first, &task.id).await.remove(0);
    assert_eq!((e.status, e.dispatched_at), (ExecutionStatus::Pending, None));

    let second = build(calls.clone());
    second.start().await.unwrap();
    run_until(&clock, t0() + secs(12)).await;
    let runs = calls.lock().unwrap().clone();
    assert_eq!(runs.len(), 1, "the handed-back fire runs once");
    assert_eq!(runs[0].0, t0() + secs(10));
    assert!(runs[0].1 >= t0() + secs(10), "ran at {} before its instant", runs[0].1);
    let e = second.store().get_execution(&e.id).await.unwrap();
    assert_eq!(e.status, ExecutionStatus::Success);
    second.shutdown().await;
}

/// The same for a large instant, shut down while it waits out its last
/// milliseconds on the clock.
#[tokio::test(start_paused = true)]
async fn shutdown_in_the_last_milliseconds_of_a_large_instant_sends_nothing() {
    const N: usize = 1100;
    let calls = Arc::new(AtomicU32::new(0));
    let clock = ManualClock::new(t0());
    let mut b = Scheduler::builder().clock(Arc::new(clock.clone())).config(config());
    for i in 0..N {
        let calls = calls.clone();
        b = b.handler(format!("job-{i}"), move |_ctx| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, String>(serde_json::Value::Null) }
        });
    }
    let s = b.build();
    s.start().await.unwrap();
    for i in 0..N {
        s.add_task(NewTask::new(format!("job-{i}"), "10 * * * * *"))
            .await
            .unwrap();
    }
    run_until(&clock, t0() + common::ms(9_999)).await;
    s.shutdown().await;
    assert_eq!(calls.load(Ordering::SeqCst), 0, "handlers started before their instant");
    let f = ExecutionFilter::default();
    let all = s.store().list_executions(&f, &ListFrom::Page(1), 1000).await.unwrap();
    assert_eq!(all.total, N as u64);
    assert!(
        all.items
            .iter()
            .all(|e| e.status == ExecutionStatus::Pending && e.dispatched_at.is_none()),
        "every prepared fire handed back"
    );
}
