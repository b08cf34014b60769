//! Conformance cases of the batch methods: `claim_fires`,
//! `update_executions`, `last_fire_times` and `dispatch_candidates_of`.

use super::*;
use crate::{ClaimOutcome, ExecutionUpdate, UpdateOutcome};

fn update(id: &ExecutionId, guard: ExecutionGuard, change: ExecutionChange) -> ExecutionUpdate {
    ExecutionUpdate {
        id: id.clone(),
        guard,
        change,
    }
}

fn finish(status: ExecutionStatus, end: DateTime<Utc>) -> ExecutionChange {
    ExecutionChange {
        status: Some(status),
        end_time: Some(Some(end)),
        append_log: Some(format!("ended {}", status.as_str())),
        ..ExecutionChange::default()
    }
}

/// `claim_fires` answers per fire, in order: new fires are claimed, a fire
/// claimed before (by `claim_fire`, by an earlier batch, or earlier in the
/// same batch) is `AlreadyFired`, an unknown task is `TaskNotFound`; only the
/// claimed rows are written, exactly as given.
pub async fn claim_fires_answers_per_fire(store: Arc<dyn Store>) {
    let a = create_active(&*store, "a", at(0)).await;
    let b = create_active(&*store, "b", at(0)).await;
    store
        .claim_fire(&execution(&a.id, TriggerType::Schedule, at(60)), Some(at(120)))
        .await
        .expect("claim_fire");
    let mut with_attempt = execution(&b.id, TriggerType::Schedule, at(60));
    with_attempt.executor_id = None;
    with_attempt.dispatched_at = Some(at_ms(59_500));
    with_attempt.timeout_at = Some(at(400));
    with_attempt.callback_token = Some("token".to_owned());
    with_attempt.next_attempt_at = Some(at(60));
    // Text that would end a quoted literal, or change its meaning, stays text.
    with_attempt.parameters = Some(json!({"q": "it's a \"test\" \\ ü 🚀 '); DROP TABLE tasks; --"}));
    with_attempt.logs = Some("line '1'\nline \\2\u{0}end".to_owned());
    let batch = vec![
        execution(&a.id, TriggerType::Schedule, at(60)),  // claimed before
        with_attempt.clone(),                             // new
        execution(&a.id, TriggerType::Schedule, at(120)), // new
        execution(&a.id, TriggerType::Schedule, at(120)), // same instant again, in this batch
        execution(&TaskId::generate(), TriggerType::Schedule, at(60)), // no such task
    ];
    let got = store.claim_fires(&batch).await.expect("claim_fires");
    assert_eq!(
        got,
        vec![
            ClaimOutcome::AlreadyFired,
            ClaimOutcome::Claimed,
            ClaimOutcome::Claimed,
            ClaimOutcome::AlreadyFired,
            ClaimOutcome::TaskNotFound,
        ]
    );
    assert_eq!(
        store.get_execution(&with_attempt.id).await.expect("get_execution"),
        with_attempt
    );
    assert_eq!(
        store.get_execution(&batch[2].id).await.expect("get_execution"),
        batch[2]
    );
    for refused in [&batch[0], &batch[3], &batch[4]] {
        assert_not_found(store.get_execution(&refused.id).await, "execution", refused.id.as_str());
    }
    assert_eq!(list_executions(&*store, of_task(&a.id)).await.total, 2);
    // A second batch of the same fires claims nothing.
    let again = vec![
        execution(&b.id, TriggerType::Schedule, at(60)),
        execution(&a.id, TriggerType::Schedule, at(120)),
    ];
    assert_eq!(
        store.claim_fires(&again).await.expect("claim_fires"),
        vec![ClaimOutcome::AlreadyFired, ClaimOutcome::AlreadyFired]
    );
    assert_eq!(store.claim_fires(&[]).await.expect("claim_fires"), vec![]);
}

/// A batch larger than any statement a backend would send in one piece is
/// claimed whole, and `last_fire_times` answers each task's latest claimed
/// instant (manual executions and unfired tasks left out).
pub async fn claim_fires_large_batches_and_last_fire_times(store: Arc<dyn Store>) {
    const TASKS: usize = 30;
    const INSTANTS: i64 = 80;
    let mut tasks = Vec::new();
    for i in 0..TASKS {
        tasks.push(create_active(&*store, &format!("t{i}"), at(0)).await);
    }
    let idle = create_active(&*store, "idle", at(0)).await;
    let batch: Vec<Execution> = (1..=INSTANTS)
        .flat_map(|k| {
            tasks
                .iter()
                .map(move |t| execution(&t.id, TriggerType::Schedule, at(k)))
        })
        .collect();
    let got = store.claim_fires(&batch).await.expect("claim_fires");
    assert_eq!(got.len(), batch.len());
    assert!(got.iter().all(|o| *o == ClaimOutcome::Claimed), "{got:?}");
    // Manual runs later than the last fire do not count as fires.
    insert(&*store, execution(&tasks[0].id, TriggerType::Manual, at(500))).await;
    let mut ids: Vec<TaskId> = tasks.iter().map(|t| t.id.clone()).collect();
    ids.push(idle.id.clone());
    let last = store.last_fire_times(&ids).await.expect("last_fire_times");
    assert_eq!(last.len(), TASKS, "the idle task never fired: {last:?}");
    for t in &tasks {
        assert_eq!(last.get(&t.id), Some(&at(INSTANTS)), "task {}", t.name);
    }
    assert_eq!(
        list_executions(&*store, ExecutionFilter::default()).await.total,
        (TASKS as u64) * (INSTANTS as u64) + 1
    );
}

/// Racing batches of the same fires: every fire is claimed by exactly one
/// of them, and written once.
pub async fn claim_fires_is_exclusive_under_concurrency(store: Arc<dyn Store>) {
    const CONTENDERS: usize = 8;
    let mut tasks = Vec::new();
    for i in 0..20 {
        tasks.push(create_active(&*store, &format!("t{i}"), at(0)).await);
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(CONTENDERS));
    let mut handles = Vec::new();
    for c in 0..CONTENDERS {
        // Each contender lists the fires in another order.
        let mut fires: Vec<Execution> = (1..=5i64)
            .flat_map(|k| {
                tasks
                    .iter()
                    .map(move |t| execution(&t.id, TriggerType::Schedule, at(k)))
            })
            .collect();
        fires.rotate_left(c * 7);
        let (store, barrier) = (store.clone(), barrier.clone());
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            let got = store.claim_fires(&fires).await.expect("claim_fires");
            fires
                .into_iter()
                .zip(got)
                .filter(|(_, o)| *o == ClaimOutcome::Claimed)
                .map(|(e, _)| (e.task_id, e.scheduled_time))
                .collect::<Vec<_>>()
        }));
    }
    let mut won = Vec::new();
    for h in handles {
        won.extend(h.await.expect("a contender panicked"));
    }
    let distinct: BTreeSet<_> = won.iter().cloned().collect();
    assert_eq!(won.len(), distinct.len(), "a fire was claimed twice");
    assert_eq!(won.len(), 100, "every fire claimed once");
    assert_eq!(list_executions(&*store, ExecutionFilter::default()).await.total, 100);
}

/// `update_executions` applies each compare-and-set as `update_execution`
/// would and answers per row: applied, conflict (guard failed, final state
/// untouched) or not found; two updates of one id apply in order.
pub async fn update_executions_mixed_outcomes(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let x = register_new(&*store, "svc", "x", at(0)).await;
    let running = insert(
        &*store,
        execution_in(&t.id, at(10), ExecutionStatus::Running, Some(&x.id)),
    )
    .await;
    let pending = insert(&*store, execution_in(&t.id, at(11), ExecutionStatus::Pending, None)).await;
    let done = insert(
        &*store,
        execution_in(&t.id, at(12), ExecutionStatus::Success, Some(&x.id)),
    )
    .await;
    let wrong_attempt = insert(
        &*store,
        execution_in(&t.id, at(13), ExecutionStatus::Running, Some(&x.id)),
    )
    .await;
    let twice = insert(&*store, execution_in(&t.id, at(14), ExecutionStatus::Pending, None)).await;
    let ghost = ExecutionId::generate();
    let active = [ExecutionStatus::Pending, ExecutionStatus::Running];
    let updates = vec![
        update(
            &running.id,
            ExecutionGuard::status_in(&active).attempt(0),
            finish(ExecutionStatus::Success, at(20)),
        ),
        update(
            &pending.id,
            ExecutionGuard::status_in(&[ExecutionStatus::Pending]).dispatched(false),
            ExecutionChange {
                executor_id: Some(Some(x.id.clone())),
                dispatched_at: Some(Some(at(21))),
                callback_token: Some(Some("tok".to_owned())),
                result: Some(Some(json!({"n": 1}))),
                ..ExecutionChange::default()
            },
        ),
        update(
            &done.id,
            ExecutionGuard::status_in(&ExecutionStatus::ALL),
            finish(ExecutionStatus::Failed, at(22)),
        ),
        update(
            &wrong_attempt.id,
            ExecutionGuard::status_in(&active).attempt(3),
            finish(ExecutionStatus::Failed, at(23)),
        ),
        update(
            &ghost,
            ExecutionGuard::status_in(&active),
            finish(ExecutionStatus::Failed, at(24)),
        ),
        update(
            &twice.id,
            ExecutionGuard::status_in(&[ExecutionStatus::Pending]),
            ExecutionChange {
                status: Some(ExecutionStatus::Running),
                start_time: Some(Some(at(25))),
                append_log: Some("first".to_owned()),
                ..ExecutionChange::default()
            },
        ),
        update(
            &twice.id,
            ExecutionGuard::status_in(&[ExecutionStatus::Running]),
            finish(ExecutionStatus::Timeout, at(26)),
        ),
        // Listed again after it became final: refused.
        update(
            &running.id,
            ExecutionGuard::status_in(&active),
            finish(ExecutionStatus::Failed, at(27)),
        ),
    ];
    let got = store.update_executions(&updates).await.expect("update_executions");
    assert_eq!(
        got,
        vec![
            UpdateOutcome::Applied,
            UpdateOutcome::Applied,
            UpdateOutcome::Conflict,
            UpdateOutcome::Conflict,
            UpdateOutcome::NotFound,
            UpdateOutcome::Applied,
            UpdateOutcome::Applied,
            UpdateOutcome::Conflict,
        ]
    );
    let expect = |mut e: Execution, changes: &[&ExecutionChange]| {
        for c in changes {
            c.apply_to(&mut e);
        }
        e
    };
    let get = |id: ExecutionId| {
        let store = store.clone();
        async move { store.get_execution(&id).await.expect("get_execution") }
    };
    assert_eq!(
        get(running.id.clone()).await,
        expect(running.clone(), &[&updates[0].change])
    );
    assert_eq!(
        get(pending.id.clone()).await,
        expect(pending.clone(), &[&updates[1].change])
    );
    assert_eq!(get(done.id.clone()).await, done, "a final state is never overwritten");
    assert_eq!(get(wrong_attempt.id.clone()).await, wrong_attempt);
    let both = get(twice.id.clone()).await;
    assert_eq!(both, expect(twice.clone(), &[&updates[5].change, &updates[6].change]));
    assert_eq!(both.logs.as_deref(), Some("first\nended timeout"));
    assert_eq!(store.update_executions(&[]).await.expect("update_executions"), vec![]);
    // Single-row updates still work on rows a batch changed.
    store
        .update_execution(
            &pending.id,
            &ExecutionGuard::status_in(&[ExecutionStatus::Pending]).dispatched(true),
            &finish(ExecutionStatus::Success, at(30)),
        )
        .await
        .expect("update_execution after a batch");
    assert_eq!(get(pending.id.clone()).await.status, ExecutionStatus::Success);
}

/// Concurrent batches finishing the same executions: each row is applied by
/// exactly one of them, and every other answer for it is `Conflict`.
pub async fn update_executions_is_exclusive_under_concurrency(store: Arc<dyn Store>) {
    const CONTENDERS: usize = 6;
    let t = create_active(&*store, "t", at(0)).await;
    let mut rows = Vec::new();
    for i in 0..40 {
        rows.push(insert(&*store, execution_in(&t.id, at(i), ExecutionStatus::Running, None)).await);
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(CONTENDERS));
    let mut handles = Vec::new();
    for c in 0..CONTENDERS {
        let status = [
            ExecutionStatus::Success,
            ExecutionStatus::Failed,
            ExecutionStatus::Timeout,
        ][c % 3];
        let mut updates: Vec<ExecutionUpdate> = rows
            .iter()
            .map(|e| {
                update(
                    &e.id,
                    ExecutionGuard::status_in(&[ExecutionStatus::Running]),
                    finish(status, at(100 + c as i64)),
                )
            })
            .collect();
        updates.rotate_left(c * 5);
        let (store, barrier) = (store.clone(), barrier.clone());
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            let got = store.update_executions(&updates).await.expect("update_executions");
            updates
                .into_iter()
                .zip(got)
                .map(|(u, o)| (u.id, u.change.status, o))
                .collect::<Vec<_>>()
        }));
    }
    let mut winners = std::collections::HashMap::new();
    for h in handles {
        for (id, status, outcome) in h.await.expect("a contender panicked") {
            match outcome {
                UpdateOutcome::Applied => assert!(winners.insert(id, status).is_none(), "applied twice"),
                UpdateOutcome::Conflict => {}
                UpdateOutcome::NotFound => panic!("row {id} not found"),
            }
        }
    }
    assert_eq!(winners.len(), rows.len(), "every row applied by exactly one batch");
    for e in &rows {
        let got = store.get_execution(&e.id).await.expect("get_execution");
        assert_eq!(Some(got.status), winners[&e.id], "the stored status is the winner's");
        assert_eq!(
            got.logs.as_deref().map(|l| l.lines().count()),
            Some(1),
            "one log line: one change"
        );
    }
}

/// `dispatch_candidates_of` answers for every task what
/// `dispatch_candidates` answers for it alone.
pub async fn dispatch_candidates_of_matches_one_by_one(store: Arc<dyn Store>) {
    let mut e = Vec::new();
    for i in 0..4i64 {
        e.push(register_new(&*store, "svc", &format!("e{i}"), at(i)).await);
    }
    store
        .set_executor_status(&e[0].id, ExecutorStatus::Offline, at(10))
        .await
        .expect("set_executor_status");
    make_unhealthy(&*store, &e[2].id, at(11)).await;
    let open = create_active(&*store, "open", at(20)).await;
    let assigned = task("assigned", at(21));
    store
        .create_task(
            &assigned,
            &[
                assignment(&e[3].id, 7, 2),
                assignment(&e[0].id, 1, 0),
                assignment(&e[1].id, 2, 1),
            ],
        )
        .await
        .expect("create_task");
    let stranded = task("stranded", at(22));
    store
        .create_task(&stranded, &[assignment(&e[0].id, 1, 0)])
        .await
        .expect("create_task");
    let ids = vec![open.id.clone(), assigned.id.clone(), stranded.id.clone()];
    let all = store
        .dispatch_candidates_of(&ids)
        .await
        .expect("dispatch_candidates_of");
    assert_eq!(all.len(), 3, "one list per task, in order");
    for (id, listed) in ids.iter().zip(&all) {
        let one = store.dispatch_candidates(id).await.expect("dispatch_candidates");
        assert_eq!(listed[..], one[..], "task {id}");
    }
    assert_eq!(all[0].len(), 2);
    assert_eq!(all[1].len(), 2);
    assert!(all[2].is_empty());
    // The same task asked twice, and two open tasks: answered in order.
    let other = create_active(&*store, "open too", at(23)).await;
    let again = vec![
        stranded.id.clone(),
        open.id.clone(),
        other.id.clone(),
        stranded.id.clone(),
    ];
    let got = store
        .dispatch_candidates_of(&again)
        .await
        .expect("dispatch_candidates_of");
    let sizes: Vec<usize> = got.iter().map(|c| c.len()).collect();
    assert_eq!(sizes, [0, 2, 2, 0]);
}
