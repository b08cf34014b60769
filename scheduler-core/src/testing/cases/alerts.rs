//! Conformance cases of the alert outbox: `enqueue_alert` (with its
//! suppression per key), `due_alerts`, `record_alert_attempt`,
//! `list_alerts`, `alert_backlog` and `purge_alerts`.

use super::*;
use crate::{Alert, AlertAttempt, AlertEnqueued, EventKind, EventSubject, NewAlert};

fn new_alert(target: &str, key: &str, secs: i64) -> NewAlert {
    NewAlert {
        id: uuid::Uuid::now_v7().to_string(),
        target: target.to_owned(),
        key: key.to_owned(),
        event: EventKind::ExecutionFailed,
        at: at(secs),
        subject: EventSubject {
            task_id: Some(TaskId::new("task-1")),
            task_name: Some("nightly".to_owned()),
            execution_id: Some(ExecutionId::new("exec-1")),
            executor_id: None,
            instance_id: None,
        },
        message: format!("failed at +{secs} s"),
        next_attempt_at: at(secs),
    }
}

async fn queued(store: &dyn Store, a: &NewAlert, min: Option<Duration>) -> Alert {
    match store.enqueue_alert(a, min).await.expect("enqueue") {
        AlertEnqueued::Queued(q) => *q,
        other => panic!("expected the alert queued, got {other:?}"),
    }
}

/// A queued alert reads back exactly as written: not delivered, no attempt,
/// due at its first attempt, subject and message whole.
pub async fn enqueue_alert_round_trips(store: Arc<dyn Store>) {
    let a = new_alert("http://hook/a", "execution_failed:task:task-1", 0);
    let q = queued(&*store, &a, None).await;
    assert_eq!(q.id, a.id);
    assert_eq!(q.target, a.target);
    assert_eq!(q.event, EventKind::ExecutionFailed);
    assert_eq!(q.at, a.at);
    assert_eq!(q.subject, a.subject);
    assert_eq!(q.message, a.message);
    assert_eq!((q.suppressed, q.delivered, q.attempts), (0, false, 0));
    assert_eq!(q.next_attempt_at, Some(at(0)));
    let listed = store.list_alerts(at(-60), Page::new(1, 10)).await.unwrap();
    assert_eq!(listed.total, 1);
    assert_eq!(listed.items, vec![q]);
    assert_eq!(store.alert_backlog().await.unwrap(), 1);
}

/// Within `min_interval` of the last alert queued under a key, alerts of that
/// key are held back and counted; the next one queued carries the count and
/// resets it. Other keys and other targets are independent.
pub async fn enqueue_alert_suppresses_per_target_and_key(store: Arc<dyn Store>) {
    let min = Some(Duration::seconds(60));
    let key = "execution_failed:task:task-1";
    let first = queued(&*store, &new_alert("http://hook/a", key, 0), min).await;
    assert_eq!(first.suppressed, 0);
    for (i, secs) in [10, 30, 59].into_iter().enumerate() {
        let r = store
            .enqueue_alert(&new_alert("http://hook/a", key, secs), min)
            .await
            .unwrap();
        assert_eq!(r, AlertEnqueued::Suppressed { count: i as u64 + 1 });
    }
    // Another key, another target: not held back by the first.
    queued(
        &*store,
        &new_alert("http://hook/a", "execution_failed:task:task-2", 20),
        min,
    )
    .await;
    queued(&*store, &new_alert("http://hook/b", key, 20), min).await;
    // Exactly min_interval after the last one queued: queued, with the count.
    let next = queued(&*store, &new_alert("http://hook/a", key, 60), min).await;
    assert_eq!(next.suppressed, 3);
    let after = store
        .enqueue_alert(&new_alert("http://hook/a", key, 61), min)
        .await
        .unwrap();
    assert_eq!(after, AlertEnqueued::Suppressed { count: 1 });
    // Without an interval nothing is held back, and the count still travels.
    let free = queued(&*store, &new_alert("http://hook/a", key, 62), None).await;
    assert_eq!(free.suppressed, 1);
    // Held-back alerts are not stored.
    assert_eq!(store.list_alerts(at(-1), Page::new(1, 50)).await.unwrap().total, 5);
}

/// Concurrent enqueues of one key within the interval queue exactly one.
pub async fn enqueue_alert_is_exclusive_under_concurrency(store: Arc<dyn Store>) {
    let min = Some(Duration::seconds(60));
    let calls = (0..8).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .enqueue_alert(&new_alert("http://hook/a", "leader_changed", i), min)
                .await
                .expect("enqueue")
        })
    });
    let mut queued_n = 0;
    let mut counts = BTreeSet::new();
    for r in futures::future::join_all(calls).await {
        match r.expect("task") {
            AlertEnqueued::Queued(_) => queued_n += 1,
            AlertEnqueued::Suppressed { count } => {
                counts.insert(count);
            }
        }
    }
    assert_eq!(queued_n, 1);
    assert_eq!(counts, (1..=7).collect::<BTreeSet<u64>>());
}

/// `due_alerts` returns undelivered alerts due by `now`, earliest due first;
/// a failed attempt moves the next one, a delivery or a give-up ends them.
pub async fn alert_attempts_move_through_the_outbox(store: Arc<dyn Store>) {
    let a = queued(&*store, &new_alert("http://hook/a", "k1", 0), None).await;
    let b = queued(&*store, &new_alert("http://hook/a", "k2", 5), None).await;
    let c = queued(&*store, &new_alert("http://hook/a", "k3", 10), None).await;
    let ids = |v: Vec<Alert>| v.into_iter().map(|a| a.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.due_alerts(at(5), 10).await.unwrap()),
        vec![a.id.clone(), b.id.clone()]
    );
    assert_eq!(ids(store.due_alerts(at(60), 1).await.unwrap()), vec![a.id.clone()]);

    let failed = store
        .record_alert_attempt(
            &a.id,
            &AlertAttempt::Failed {
                retry_at: Some(at(30)),
                error: "HTTP 500".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!((failed.attempts, failed.delivered), (1, false));
    assert_eq!(failed.next_attempt_at, Some(at(30)));
    assert_eq!(failed.last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(
        ids(store.due_alerts(at(29), 10).await.unwrap()),
        vec![b.id.clone(), c.id.clone()]
    );
    assert_eq!(
        ids(store.due_alerts(at(30), 10).await.unwrap()),
        vec![b.id.clone(), c.id.clone(), a.id.clone()]
    );

    let done = store
        .record_alert_attempt(&a.id, &AlertAttempt::Delivered)
        .await
        .unwrap();
    assert_eq!((done.attempts, done.delivered, done.next_attempt_at), (2, true, None));
    let again = store.record_alert_attempt(&a.id, &AlertAttempt::Delivered).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");

    let gave_up = store
        .record_alert_attempt(
            &b.id,
            &AlertAttempt::Failed {
                retry_at: None,
                error: "gone".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (gave_up.attempts, gave_up.delivered, gave_up.next_attempt_at),
        (1, false, None)
    );
    assert_eq!(ids(store.due_alerts(at(3600), 10).await.unwrap()), vec![c.id.clone()]);
    assert_eq!(store.alert_backlog().await.unwrap(), 1);

    let missing = store
        .record_alert_attempt("no-such-alert", &AlertAttempt::Delivered)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })), "{missing:?}");
}

/// `list_alerts` pages newest first from `since`; `purge_alerts` deletes
/// alerts before its instant, delivered or not.
pub async fn list_and_purge_alerts(store: Arc<dyn Store>) {
    let mut all = Vec::new();
    for i in 0..5 {
        all.push(queued(&*store, &new_alert("http://hook/a", &format!("k{i}"), i * 100), None).await);
    }
    store
        .record_alert_attempt(&all[1].id, &AlertAttempt::Delivered)
        .await
        .unwrap();
    let page1 = store.list_alerts(at(0), Page::new(1, 2)).await.unwrap();
    assert_eq!(page1.total, 5);
    assert_eq!(
        page1.items.iter().map(|a| a.id.clone()).collect::<Vec<_>>(),
        vec![all[4].id.clone(), all[3].id.clone()]
    );
    let page3 = store.list_alerts(at(0), Page::new(3, 2)).await.unwrap();
    assert_eq!(page3.items.len(), 1);
    assert_eq!(page3.items[0].id, all[0].id);
    assert_eq!(store.list_alerts(at(150), Page::new(1, 10)).await.unwrap().total, 3);

    assert_eq!(store.purge_alerts(at(200)).await.unwrap(), 2);
    let left = store.list_alerts(at(-1), Page::new(1, 10)).await.unwrap();
    assert_eq!(left.total, 3);
    assert!(left.items.iter().all(|a| a.at >= at(200)));
    assert_eq!(store.alert_backlog().await.unwrap(), 3);
    assert_eq!(store.purge_alerts(at(200)).await.unwrap(), 0);
}
