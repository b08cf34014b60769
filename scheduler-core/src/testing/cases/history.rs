//! Conformance cases of history at volume: the hourly counters behind the
//! statistics, retention (`purge_*`), bounded logs and deep lists (cursor,
//! capped total).

use super::*;
use crate::domain::logs::{DEFAULT_MAX_LOG_BYTES, split_marker};
use crate::{ClaimOutcome, ExecutionCursor, ExecutionPage, ExecutionUpdate, HourlyCounts, ListFrom, TOTAL_CAP};

fn hour(h: i64) -> DateTime<Utc> {
    // base() is 12:00:00 on a whole hour.
    base() + Duration::hours(h)
}

fn finish(status: ExecutionStatus, start: DateTime<Utc>, end: DateTime<Utc>) -> ExecutionChange {
    ExecutionChange {
        status: Some(status),
        start_time: Some(Some(start)),
        end_time: Some(Some(end)),
        ..ExecutionChange::default()
    }
}

fn unfinished() -> ExecutionGuard {
    ExecutionGuard::status_in(&[ExecutionStatus::Pending, ExecutionStatus::Running])
}

async fn hours_of(store: &dyn Store, task: &TaskId) -> Vec<HourlyCounts> {
    store
        .hourly_counts(task, hour(-10_000), hour(10_000))
        .await
        .expect("hourly_counts")
}

/// Every write that makes an execution final (an insert of a final row,
/// `update_execution`, `update_executions`) adds it to the counters of its
/// task and UTC hour of `scheduled_time`; non-final rows count nowhere;
/// hours are bounded exactly (xx:59:59.999 and the next xx:00:00.000 differ);
/// `hourly_counts` reads `from <= hour <= to`.
pub async fn hourly_counts_follow_final_writes(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let other = create_active(&*store, "other", at(0)).await;
    // Inserted final: success with a 1 000 ms duration (execution_in).
    insert(&*store, execution_in(&t.id, hour(0), ExecutionStatus::Success, None)).await;
    insert(
        &*store,
        execution_in(
            &t.id,
            hour(1) - Duration::milliseconds(1),
            ExecutionStatus::Skipped,
            None,
        ),
    )
    .await;
    insert(&*store, execution_in(&t.id, hour(1), ExecutionStatus::Pending, None)).await;
    insert(&*store, execution_in(&other.id, hour(0), ExecutionStatus::Failed, None)).await;
    // Made final by update_execution.
    let a = insert(
        &*store,
        execution(&t.id, TriggerType::Manual, hour(1) + Duration::minutes(5)),
    )
    .await;
    let start = hour(1) + Duration::minutes(5);
    store
        .update_execution(
            &a.id,
            &unfinished(),
            &finish(ExecutionStatus::Timeout, start, start + Duration::milliseconds(250)),
        )
        .await
        .expect("update_execution");
    // Made final by update_executions; one of them twice (the second conflicts
    // and must not count again).
    let b = insert(
        &*store,
        execution(&t.id, TriggerType::Manual, hour(1) + Duration::minutes(6)),
    )
    .await;
    let c = insert(&*store, execution(&t.id, TriggerType::Manual, hour(2))).await;
    let upd = |e: &Execution, status| ExecutionUpdate {
        id: e.id.clone(),
        guard: unfinished(),
        change: ExecutionChange {
            status: Some(status),
            end_time: Some(Some(e.scheduled_time)),
            ..ExecutionChange::default()
        },
    };
    store
        .update_executions(&[
            upd(&b, ExecutionStatus::Failed),
            upd(&c, ExecutionStatus::Cancelled),
            upd(&b, ExecutionStatus::Success),
        ])
        .await
        .expect("update_executions");
    // A change that leaves a row unfinished counts nowhere.
    let d = insert(&*store, execution(&t.id, TriggerType::Manual, hour(2))).await;
    store
        .update_execution(
            &d.id,
            &unfinished(),
            &ExecutionChange {
                status: Some(ExecutionStatus::Running),
                start_time: Some(Some(hour(2))),
                ..ExecutionChange::default()
            },
        )
        .await
        .expect("update_execution");

    let counts = |total, f: fn(&mut StatusCounts), ms, n| {
        let mut c = StatusCounts {
            total,
            duration_ms_sum: ms,
            duration_count: n,
            ..StatusCounts::default()
        };
        f(&mut c);
        c
    };
    let want = vec![
        HourlyCounts {
            hour: hour(0),
            counts: counts(
                2,
                |c| {
                    c.success = 1;
                    c.skipped = 1;
                },
                2_000,
                2,
            ),
        },
        HourlyCounts {
            hour: hour(1),
            counts: counts(
                2,
                |c| {
                    c.timeout = 1;
                    c.failed = 1;
                },
                250,
                1,
            ),
        },
        HourlyCounts {
            hour: hour(2),
            counts: counts(1, |c| c.cancelled = 1, 0, 0),
        },
    ];
    assert_eq!(hours_of(&*store, &t.id).await, want);
    // Bounds are inclusive hours.
    assert_eq!(
        store
            .hourly_counts(&t.id, hour(1), hour(1))
            .await
            .expect("hourly_counts"),
        want[1..2].to_vec()
    );
    assert!(
        store
            .hourly_counts(&t.id, hour(3), hour(10))
            .await
            .expect("hourly_counts")
            .is_empty()
    );
    assert_eq!(hours_of(&*store, &other.id).await.len(), 1);
}

/// `purge_executions` deletes final executions scheduled before the bound,
/// oldest first, at most `limit` per call, never a pending or running one,
/// and leaves the hourly counters as they were.
pub async fn purge_executions_deletes_old_final_rows_only(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let mut old_final = Vec::new();
    for i in 0..5 {
        old_final.push(insert(&*store, execution_in(&t.id, at(i), ExecutionStatus::Success, None)).await);
    }
    let old_pending = insert(&*store, execution_in(&t.id, at(1), ExecutionStatus::Pending, None)).await;
    let old_running = insert(&*store, execution_in(&t.id, at(2), ExecutionStatus::Running, None)).await;
    let recent = insert(&*store, execution_in(&t.id, at(100), ExecutionStatus::Failed, None)).await;
    let before = hours_of(&*store, &t.id).await;

    assert_eq!(store.purge_executions(at(50), 2).await.expect("purge"), 2);
    for e in &old_final[..2] {
        assert_not_found(store.get_execution(&e.id).await, "execution", e.id.as_str());
    }
    store
        .get_execution(&old_final[2].id)
        .await
        .expect("the third oldest is kept");
    assert_eq!(store.purge_executions(at(50), 100).await.expect("purge"), 3);
    assert_eq!(store.purge_executions(at(50), 100).await.expect("purge"), 0);
    for e in [&old_pending, &old_running, &recent] {
        store.get_execution(&e.id).await.expect("kept");
    }
    let left = list_executions(&*store, of_task(&t.id)).await;
    assert_eq!(left.total, 3);
    assert_eq!(hours_of(&*store, &t.id).await, before, "the counters survive the purge");
}

/// `purge_excess_executions` keeps the newest `keep` final executions and
/// deletes the older ones, at most `limit` per call; unfinished rows neither
/// count nor go.
pub async fn purge_excess_keeps_the_newest(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let mut finals = Vec::new();
    for i in 0..10 {
        finals.push(insert(&*store, execution_in(&t.id, at(i * 10), ExecutionStatus::Success, None)).await);
    }
    let pending = insert(&*store, execution_in(&t.id, at(0), ExecutionStatus::Pending, None)).await;
    assert_eq!(store.purge_excess_executions(4, 2).await.expect("purge"), 2);
    assert_eq!(store.purge_excess_executions(4, 100).await.expect("purge"), 4);
    assert_eq!(store.purge_excess_executions(4, 100).await.expect("purge"), 0);
    let left = list_executions(&*store, of_task(&t.id)).await;
    let mut want: Vec<ExecutionId> = finals[6..].iter().map(|e| e.id.clone()).collect();
    want.reverse();
    want.push(pending.id.clone());
    assert_eq!(execution_ids(&left.items), want);
}

/// `purge_hourly_counts` drops the counters of hours before the bound.
pub async fn purge_hourly_counts_drops_old_hours(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    for h in 0..4 {
        insert(&*store, execution_in(&t.id, hour(h), ExecutionStatus::Success, None)).await;
    }
    assert_eq!(store.purge_hourly_counts(hour(2)).await.expect("purge"), 2);
    let left: Vec<_> = hours_of(&*store, &t.id).await.iter().map(|h| h.hour).collect();
    assert_eq!(left, vec![hour(2), hour(3)]);
}

/// Logs stay within the default `max_log_bytes`: appends past it drop the
/// oldest bytes behind `[... N bytes truncated]\n`, N counting every byte
/// dropped, also when appends race; the execution then still finishes.
pub async fn logs_are_bounded(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let e = insert(&*store, execution(&t.id, TriggerType::Manual, at(1))).await;
    let chunk = |i: usize| format!("{i:03}:{}", "x".repeat(16 * 1024 - 4));
    let writers: Vec<_> = (0..12)
        .map(|i| {
            let store = store.clone();
            let id = e.id.clone();
            tokio::spawn(async move {
                let change = ExecutionChange {
                    append_log: Some(chunk(i)),
                    ..ExecutionChange::default()
                };
                store
                    .update_execution(&id, &unfinished(), &change)
                    .await
                    .expect("append")
            })
        })
        .collect();
    for w in writers {
        w.await.expect("writer");
    }
    let written = 12 * 16 * 1024 + 11; // the chunks and the newlines between them
    let logs = store.get_execution(&e.id).await.expect("get").logs.expect("logs");
    assert!(logs.len() <= DEFAULT_MAX_LOG_BYTES, "{} bytes kept", logs.len());
    let (dropped, body) = split_marker(&logs);
    assert!(dropped > 0, "the marker is there");
    assert_eq!(dropped as usize + body.len(), written, "every byte is kept or counted");
    assert!(
        body.len() > DEFAULT_MAX_LOG_BYTES - 100,
        "the limit is used, not wasted"
    );

    let done = store
        .update_execution(
            &e.id,
            &unfinished(),
            &ExecutionChange {
                status: Some(ExecutionStatus::Success),
                end_time: Some(Some(at(2))),
                append_log: Some(chunk(99)),
                ..ExecutionChange::default()
            },
        )
        .await
        .expect("the final write succeeds");
    assert_eq!(done.status, ExecutionStatus::Success);
    let logs = done.logs.expect("logs");
    assert!(logs.len() <= DEFAULT_MAX_LOG_BYTES);
    let (dropped, body) = split_marker(&logs);
    assert_eq!(dropped as usize + body.len(), written + 1 + 16 * 1024);
    assert!(body.ends_with(&chunk(99)));

    // Written whole at insert: bounded too.
    let mut big = execution_in(&t.id, at(3), ExecutionStatus::Failed, None);
    big.logs = Some("y".repeat(DEFAULT_MAX_LOG_BYTES + 1_000));
    let stored = store.insert_execution(&big).await.expect("insert");
    let logs = stored.logs.expect("logs");
    assert!(logs.len() <= DEFAULT_MAX_LOG_BYTES);
    assert_eq!(
        store.get_execution(&big.id).await.expect("get").logs.as_deref(),
        Some(logs.as_str())
    );
    let (dropped, body) = split_marker(&logs);
    assert_eq!(dropped as usize + body.len(), DEFAULT_MAX_LOG_BYTES + 1_000);
}

async fn page(store: &dyn Store, filter: &ExecutionFilter, from: ListFrom, size: u32) -> ExecutionPage {
    store
        .list_executions(filter, &from, size)
        .await
        .expect("list_executions")
}

/// Walking the list by cursor gives the same rows, in the same order, as one
/// long page; `next` is `None` on the last page; items carry no logs or
/// result; a page by number also gives the cursor of the next one.
pub async fn list_executions_by_cursor(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let other = create_active(&*store, "other", at(0)).await;
    for i in 0..23 {
        let mut e = execution_in(&t.id, at(i / 3), ExecutionStatus::Success, None); // ties of 3
        e.logs = Some("some logs".to_owned());
        e.result = Some(json!({"n": i}));
        insert(&*store, e).await;
        insert(&*store, execution_in(&other.id, at(i), ExecutionStatus::Failed, None)).await;
    }
    let filter = of_task(&t.id);
    let whole = page(&*store, &filter, ListFrom::Page(1), 100).await;
    assert_eq!(whole.items.len(), 23);
    assert!(whole.next.is_none());
    assert!(whole.items.iter().all(|e| e.logs.is_none() && e.result.is_none()));

    let mut walked = Vec::new();
    let mut from = ListFrom::Page(1);
    let mut pages = 0;
    loop {
        let p = page(&*store, &filter, from, 5).await;
        assert_eq!((p.total, p.total_is_lower_bound), (23, false));
        walked.extend(execution_ids(&p.items));
        pages += 1;
        match p.next {
            Some(c) => {
                assert_eq!(c.id, p.items.last().expect("a row").id);
                from = ListFrom::After(c);
            }
            None => break,
        }
    }
    assert_eq!(pages, 5);
    assert_eq!(walked, execution_ids(&whole.items));

    // Exactly one page of rows: no next page.
    let p = page(&*store, &filter, ListFrom::Page(5), 5).await;
    assert_eq!((p.items.len(), p.next.clone()), (3, None));
    let p = page(&*store, &filter, ListFrom::Page(1), 23).await;
    assert!(p.next.is_none());
    // A cursor past everything: an empty last page.
    let last = whole.items.last().expect("a row");
    let after_last = ExecutionCursor {
        scheduled_time: last.scheduled_time,
        id: last.id.clone(),
    };
    let p = page(&*store, &filter, ListFrom::After(after_last), 5).await;
    assert!(p.items.is_empty() && p.next.is_none());
    // Cursor and filters combine (status and time range).
    let filter = ExecutionFilter {
        status: Some(ExecutionStatus::Failed),
        from: Some(at(5)),
        to: Some(at(14)),
        ..ExecutionFilter::default()
    };
    let first = page(&*store, &filter, ListFrom::Page(1), 4).await;
    let second = page(&*store, &filter, ListFrom::After(first.next.expect("more")), 4).await;
    let times: Vec<_> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|e| e.scheduled_time)
        .collect();
    assert_eq!(times, (7..=14).rev().map(at).collect::<Vec<_>>());
}

/// `total` is exact up to 10 000 matching rows; beyond it is 10 000 and
/// flagged as a lower bound.
pub async fn list_executions_caps_the_total(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let small = create_active(&*store, "small", at(0)).await;
    let fires: Vec<Execution> = (0..TOTAL_CAP as i64 + 5)
        .map(|i| execution(&t.id, TriggerType::Schedule, at(i)))
        .collect();
    for chunk in fires.chunks(2_000) {
        let got = store.claim_fires(chunk).await.expect("claim_fires");
        assert!(got.iter().all(|o| *o == ClaimOutcome::Claimed));
    }
    insert(&*store, execution(&small.id, TriggerType::Manual, at(3))).await;
    let all = page(&*store, &ExecutionFilter::default(), ListFrom::Page(1), 20).await;
    assert_eq!((all.total, all.total_is_lower_bound), (TOTAL_CAP, true));
    assert_eq!(all.items.len(), 20);
    let of_t = page(&*store, &of_task(&t.id), ListFrom::Page(1), 20).await;
    assert_eq!((of_t.total, of_t.total_is_lower_bound), (TOTAL_CAP, true));
    let one = page(&*store, &of_task(&small.id), ListFrom::Page(1), 20).await;
    assert_eq!((one.total, one.total_is_lower_bound), (1, false));
    let exact = ExecutionFilter {
        task_id: Some(t.id.clone()),
        to: Some(at(TOTAL_CAP as i64 - 1)),
        ..ExecutionFilter::default()
    };
    let p = page(&*store, &exact, ListFrom::Page(1), 20).await;
    assert_eq!((p.total, p.total_is_lower_bound), (TOTAL_CAP, false));
}
