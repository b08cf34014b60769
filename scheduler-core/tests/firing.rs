//! Tasks fire at exactly the instants their cron expression names, in their
//! time zone, and changes take effect at once.

mod common;
use common::*;
use scheduler_core::*;

#[tokio::test(start_paused = true)]
async fn fires_at_exact_instants() {
    let h = harness().await;
    h.executor("e1").await;
    let task = h.task(NewTask::new("every-2s", "*/2 * * * * *")).await;
    assert_eq!(task.next_run_time, Some(t0() + secs(2)));
    h.run_until(t0() + secs(7)).await;
    let ex = h.executions(&task.id).await;
    let instants: Vec<_> = ex.iter().map(|e| e.scheduled_time).collect();
    assert_eq!(instants, vec![t0() + secs(2), t0() + secs(4), t0() + secs(6)]);
    assert!(
        ex.iter()
            .all(|e| e.status == ExecutionStatus::Success && e.trigger_type == TriggerType::Schedule)
    );
    // Each dispatch happened at its instant, not before.
    for c in h.dispatcher.calls() {
        assert_eq!(
            c.at, c.scheduled_time,
            "dispatched at {} for {}",
            c.at, c.scheduled_time
        );
    }
    // next_run_time moves on with the fires.
    let shown = h.scheduler.get_task(&task.id).await.unwrap();
    assert_eq!(shown.next_run_time, Some(t0() + secs(8)));
    let listed = h
        .scheduler
        .list_tasks(&TaskFilter::default(), Page::default())
        .await
        .unwrap();
    assert_eq!(listed.items[0].next_run_time, Some(t0() + secs(8)));
}

#[tokio::test(start_paused = true)]
async fn fires_in_the_task_time_zone() {
    let h = harness().await;
    h.executor("e1").await;
    // 01:00 in Tokyo (UTC+9) is 16:00 UTC the day before; t0 is 00:00 UTC.
    let task = h
        .task(NewTask::new("tokyo", "0 0 1 * * *").timezone("Asia/Tokyo"))
        .await;
    assert_eq!(task.next_run_time, Some(t0() + secs(16 * 3600)));
    h.run_until(t0() + secs(16 * 3600 + 1)).await;
    let ex = h.executions(&task.id).await;
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].scheduled_time, t0() + secs(16 * 3600));
}

#[tokio::test(start_paused = true)]
async fn pause_resume_update_delete_take_effect_at_once() {
    let h = harness().await;
    h.executor("e1").await;
    let task = h.task(NewTask::new("t", "*/1 * * * * *")).await;
    // Outside the 500 ms in which the next fire is already prepared.
    h.run_until(t0() + secs(3) + ms(200)).await;
    assert_eq!(h.executions(&task.id).await.len(), 3);

    let paused = h.scheduler.pause_task(&task.id).await.unwrap();
    assert_eq!(paused.status, TaskStatus::Paused);
    assert_eq!(paused.next_run_time, None);
    h.run_until(t0() + secs(6) + ms(500)).await;
    assert_eq!(h.executions(&task.id).await.len(), 3, "no fire while paused");

    let resumed = h.scheduler.resume_task(&task.id).await.unwrap();
    assert_eq!(resumed.next_run_time, Some(t0() + secs(7)));
    h.run_until(t0() + secs(8) + ms(200)).await;
    let got: Vec<_> = h.executions(&task.id).await.iter().map(|e| e.scheduled_time).collect();
    assert_eq!(
        &got[3..],
        &[t0() + secs(7), t0() + secs(8)],
        "resumed from the next instant, missed ones not fired"
    );

    let patch = TaskPatch {
        cron_expression: Some("*/5 * * * * *".to_owned()),
        ..TaskPatch::default()
    };
    let updated = h.scheduler.update_task(&task.id, patch).await.unwrap();
    assert_eq!(updated.next_run_time, Some(t0() + secs(10)));
    h.run_until(t0() + secs(15) + ms(200)).await;
    let got: Vec<_> = h.executions(&task.id).await.iter().map(|e| e.scheduled_time).collect();
    assert_eq!(&got[5..], &[t0() + secs(10), t0() + secs(15)]);

    h.scheduler.delete_task(&task.id).await.unwrap();
    h.run_until(t0() + secs(30) + ms(500)).await;
    assert_eq!(h.executions(&task.id).await.len(), 7, "no fire after delete");
    let deleted = h.store.get_task(&task.id).await.unwrap();
    assert_eq!((deleted.status, deleted.next_run_time), (TaskStatus::Deleted, None));
}

/// The timer keeps tasks in numbered slots that a deleted task frees: the
/// task that takes the slot next fires at its own instants only, never at
/// the instant the deleted task was counting down to.
#[tokio::test(start_paused = true)]
async fn a_task_created_after_a_delete_fires_only_at_its_own_instants() {
    let h = harness().await;
    h.executor("e1").await;
    let gone = h.task(NewTask::new("gone", "10 * * * * *")).await;
    h.run_until(t0() + secs(2)).await;
    h.scheduler.delete_task(&gone.id).await.unwrap();
    let next = h.task(NewTask::new("next", "30 * * * * *")).await;
    h.run_until(t0() + secs(31)).await;
    assert!(h.executions(&gone.id).await.is_empty(), "no fire after delete");
    let got: Vec<_> = h.executions(&next.id).await.iter().map(|e| e.scheduled_time).collect();
    assert_eq!(got, vec![t0() + secs(30)]);
}

#[tokio::test(start_paused = true)]
async fn option_change_keeps_the_current_countdown() {
    let h = harness().await;
    h.executor("e1").await;
    let task = h.task(NewTask::new("t", "*/10 * * * * *")).await;
    h.run_until(t0() + secs(3)).await;
    let patch = TaskPatch {
        max_retry: Some(0),
        ..TaskPatch::default()
    };
    h.scheduler.update_task(&task.id, patch).await.unwrap();
    h.run_until(t0() + secs(10) + ms(10)).await;
    let ex = h.executions(&task.id).await;
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].scheduled_time, t0() + secs(10));
}

#[tokio::test(start_paused = true)]
async fn changes_written_by_another_instance_are_picked_up_within_two_seconds() {
    let h = harness().await;
    h.executor("e1").await;
    // Another instance writes a task straight into the shared store.
    let (mut task, _) = NewTask::new("elsewhere", "*/1 * * * * *")
        .validate(TaskId::generate(), t0())
        .unwrap();
    task.next_run_time = Some(t0() + secs(1));
    h.store.create_task(&task, &[]).await.unwrap();
    h.run_until(t0() + secs(3) + ms(500)).await;
    let n = h.executions(&task.id).await.len();
    assert!(n >= 1, "picked up within 2 s (got {n} fires by t+3.5s)");

    // ... and pauses it there.
    let mut paused = h.store.get_task(&task.id).await.unwrap();
    paused.status = TaskStatus::Paused;
    paused.next_run_time = None;
    paused.updated_at = h.clock.now();
    h.store.update_task(&paused, None).await.unwrap();
    let before = h.executions(&task.id).await.len();
    h.run_until(t0() + secs(6) + ms(500)).await;
    let after = h.executions(&task.id).await.len();
    assert!(after - before <= 2, "pause seen within 2 s ({before} -> {after})");
    h.run_until(t0() + secs(12)).await;
    assert_eq!(
        h.executions(&task.id).await.len(),
        after,
        "no fires once the pause is seen"
    );
}

#[tokio::test(start_paused = true)]
async fn manual_trigger_merges_parameters_and_runs_while_paused() {
    let h = harness().await;
    h.executor("e1").await;
    let mut params = JsonObject::new();
    params.insert("a".into(), 1.into());
    params.insert("b".into(), 2.into());
    let task = h
        .task(NewTask::new("t", "0 0 0 1 1 *").parameters(params).paused())
        .await;
    let mut over = JsonObject::new();
    over.insert("b".into(), 3.into());
    over.insert("c".into(), 4.into());
    let exec = h.scheduler.trigger(&task.id, Some(over)).await.unwrap();
    assert_eq!(exec.trigger_type, TriggerType::Manual);
    assert_eq!(exec.scheduled_time, t0());
    assert_eq!(exec.parameters, Some(serde_json::json!({"a": 1, "b": 3, "c": 4})));
    h.run_until(t0() + ms(10)).await;
    assert_eq!(h.execution(&exec.id).await.status, ExecutionStatus::Success);

    h.scheduler.delete_task(&task.id).await.unwrap();
    let err = h.scheduler.trigger(&task.id, None).await.unwrap_err();
    assert!(matches!(err, SchedulerError::Store(StoreError::Conflict(_))), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn unknown_mode_or_strategy_is_a_validation_error() {
    let h = harness().await;
    let err = h
        .scheduler
        .create_task(NewTask::new("t", "* * * * *").execution_mode(ModeName::new("turbo")))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SchedulerError::Validation(v) if v.field == "execution_mode"),
        "{err:?}"
    );
    let err = h
        .scheduler
        .create_task(NewTask::new("t", "* * * * *").load_balance_strategy(StrategyName::new("fastest")))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SchedulerError::Validation(v) if v.field == "load_balance_strategy"),
        "{err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_pause_just_before_the_instant_stops_an_already_prepared_fire() {
    let h = harness().await;
    h.executor("e1").await;
    let task = h.task(NewTask::new("t", "*/10 * * * * *")).await;
    // The fire for 00:00:10 is prepared 500 ms ahead; pause 100 ms before it.
    h.run_until(t0() + secs(9) + ms(900)).await;
    assert_eq!(h.executions(&task.id).await.len(), 1, "prepared ahead of its instant");
    h.scheduler.pause_task(&task.id).await.unwrap();
    h.run_until(t0() + secs(12)).await;
    assert!(h.dispatcher.calls().is_empty(), "not dispatched after the pause");
    let ex = h.executions(&task.id).await;
    assert_eq!(ex[0].status, ExecutionStatus::Cancelled);
    assert!(ex[0].logs.as_deref().unwrap().contains("paused"));
}
