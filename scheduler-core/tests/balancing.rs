//! Load balancing: candidates, priority tiers and each strategy's distribution.

mod common;
use common::*;
use scheduler_core::*;
use std::sync::Arc;

async fn dispatch_n(h: &Harness, strategy: StrategyName, n: usize) -> (Task, Vec<ExecutorId>) {
    let task = h
        .task(
            NewTask::new("t", "0 0 0 1 1 *")
                .load_balance_strategy(strategy)
                .paused(),
        )
        .await;
    let mut order = Vec::new();
    for _ in 0..n {
        let exec = h.scheduler.trigger(&task.id, None).await.unwrap();
        h.run_until(h.clock.now() + ms(1)).await;
        let e = h.execution(&exec.id).await;
        assert_eq!(e.status, ExecutionStatus::Success);
        order.push(e.executor_id.unwrap());
    }
    (task, order)
}

fn ids(es: &[Executor]) -> Vec<ExecutorId> {
    es.iter().map(|e| e.id.clone()).collect()
}

#[tokio::test(start_paused = true)]
async fn round_robin_takes_the_next_in_id_order() {
    let h = harness().await;
    let es = h.executors(&["a", "b", "c"]).await;
    let (_, order) = dispatch_n(&h, StrategyName::ROUND_ROBIN, 9).await;
    let e = ids(&es);
    let want: Vec<_> = (0..9).map(|i| e[i % 3].clone()).collect();
    assert_eq!(order, want, "3/3/3 in id order");
}

#[tokio::test(start_paused = true)]
async fn round_robin_state_survives_a_restart() {
    let store = Arc::new(MemoryStore::new());
    let h = harness_on(store.clone(), config(), |b| b).await;
    let es = h.executors(&["a", "b", "c"]).await;
    let (task, first) = dispatch_n(&h, StrategyName::ROUND_ROBIN, 2).await;
    h.scheduler.shutdown().await;
    drop(h);
    let h2 = harness_on(store, config(), |b| b).await;
    let exec = h2.scheduler.trigger(&task.id, None).await.unwrap();
    h2.run_until(h2.clock.now() + ms(1)).await;
    let third = h2.execution(&exec.id).await.executor_id.unwrap();
    assert_eq!(first, vec![es[0].id.clone(), es[1].id.clone()]);
    assert_eq!(third, es[2].id, "continues where the previous engine stopped");
}

#[tokio::test(start_paused = true)]
async fn weighted_round_robin_is_smooth_and_exact() {
    let h = harness().await;
    let es = h.executors(&["a", "b", "c"]).await;
    let task = h
        .task(
            NewTask::new("t", "0 0 0 1 1 *")
                .load_balance_strategy(StrategyName::WEIGHTED_ROUND_ROBIN)
                .paused(),
        )
        .await;
    let assign: Vec<_> = es
        .iter()
        .zip([1, 2, 3])
        .map(|(e, w)| TaskExecutorInput {
            executor_id: e.id.clone(),
            weight: Some(w),
            priority: None,
        })
        .collect();
    h.scheduler.set_task_executors(&task.id, assign).await.unwrap();
    let mut order = Vec::new();
    for _ in 0..12 {
        let exec = h.scheduler.trigger(&task.id, None).await.unwrap();
        h.run_until(h.clock.now() + ms(1)).await;
        order.push(h.execution(&exec.id).await.executor_id.unwrap());
    }
    let count = |id: &ExecutorId| order.iter().filter(|x| *x == id).count();
    assert_eq!((count(&es[0].id), count(&es[1].id), count(&es[2].id)), (2, 4, 6));
    let longest_run = order.windows(3).filter(|w| w[0] == w[1] && w[1] == w[2]).count();
    assert_eq!(longest_run, 0, "never more than 2 in a row: {order:?}");
    // nginx's sequence for 1/2/3: c b a c b c, repeated.
    let (a, b, c) = (&es[0].id, &es[1].id, &es[2].id);
    let want = [c, b, a, c, b, c, c, b, a, c, b, c];
    assert_eq!(order.iter().collect::<Vec<_>>(), want);
}

#[tokio::test(start_paused = true)]
async fn random_covers_every_candidate() {
    let h = harness().await;
    let es = h.executors(&["a", "b", "c", "d"]).await;
    let (_, order) = dispatch_n(&h, StrategyName::RANDOM, 80).await;
    for e in &es {
        let n = order.iter().filter(|x| **x == e.id).count();
        assert!(n >= 5, "{} got {n} of 80", e.name);
    }
}

#[tokio::test(start_paused = true)]
async fn sticky_keeps_its_executor_and_rebinds_once() {
    let h = harness().await;
    let es = h.executors(&["a", "b", "c"]).await;
    let (task, order) = dispatch_n(&h, StrategyName::STICKY, 4).await;
    assert!(order.iter().all(|x| *x == order[0]), "keeps one executor: {order:?}");
    let bound = order[0].clone();
    h.scheduler
        .set_executor_status(&bound, ExecutorStatus::Offline, Some("test".into()))
        .await
        .unwrap();
    let mut after = Vec::new();
    for _ in 0..3 {
        let exec = h.scheduler.trigger(&task.id, None).await.unwrap();
        h.run_until(h.clock.now() + ms(1)).await;
        after.push(h.execution(&exec.id).await.executor_id.unwrap());
    }
    assert!(
        after.iter().all(|x| *x == after[0] && *x != bound),
        "rebinds once: {after:?}"
    );
    // Coming back does not steal the binding.
    h.scheduler
        .set_executor_status(&bound, ExecutorStatus::Online, None)
        .await
        .unwrap();
    let exec = h.scheduler.trigger(&task.id, None).await.unwrap();
    h.run_until(h.clock.now() + ms(1)).await;
    assert_eq!(h.execution(&exec.id).await.executor_id.unwrap(), after[0]);
    let _ = es;
}

#[tokio::test(start_paused = true)]
async fn least_loaded_prefers_fewest_running_then_round_robin() {
    let h = harness().await;
    let es = h.executors(&["a", "b", "c"]).await;
    // Everything stays running.
    h.dispatcher.set_default(Behavior::Accept);
    let task = h
        .task(
            NewTask::new("t", "0 0 0 1 1 *")
                .load_balance_strategy(StrategyName::LEAST_LOADED)
                .timeout_seconds(3600)
                .paused(),
        )
        .await;
    let mut order = Vec::new();
    for _ in 0..6 {
        let exec = h.scheduler.trigger(&task.id, None).await.unwrap();
        h.run_until(h.clock.now() + ms(1)).await;
        order.push(h.execution(&exec.id).await.executor_id.unwrap());
    }
    let e = ids(&es);
    // Loads go 0/0/0 -> a, 1/0/0 -> b, 1/1/0 -> c, then ties again in rr order.
    assert_eq!(
        order,
        vec![
            e[0].clone(),
            e[1].clone(),
            e[2].clone(),
            e[0].clone(),
            e[1].clone(),
            e[2].clone()
        ]
    );
    // Finish the two on b: b has the lowest load and wins three times in a row? No: once, then ties.
    for x in h.executions(&task.id).await {
        if x.executor_id.as_ref() == Some(&e[1]) {
            let t = x.callback_token.clone().unwrap();
            let done = ExecutionReport {
                status: ExecutionStatus::Success,
                result: None,
                logs: None,
                end_time: None,
            };
            h.scheduler.report(&x.id, &t, done).await.unwrap();
        }
    }
    let exec = h.scheduler.trigger(&task.id, None).await.unwrap();
    h.run_until(h.clock.now() + ms(1)).await;
    assert_eq!(h.execution(&exec.id).await.executor_id.unwrap(), e[1]);
}

#[tokio::test(start_paused = true)]
async fn lowest_priority_tier_first_then_fallback() {
    let h = harness().await;
    let es = h.executors(&["a", "b", "c"]).await;
    let task = h.task(NewTask::new("t", "0 0 0 1 1 *").paused()).await;
    let assign = vec![
        TaskExecutorInput {
            executor_id: es[0].id.clone(),
            weight: None,
            priority: Some(5),
        },
        TaskExecutorInput {
            executor_id: es[1].id.clone(),
            weight: None,
            priority: Some(1),
        },
        TaskExecutorInput {
            executor_id: es[2].id.clone(),
            weight: None,
            priority: Some(1),
        },
    ];
    h.scheduler.set_task_executors(&task.id, assign).await.unwrap();
    let mut order = Vec::new();
    for _ in 0..4 {
        let exec = h.scheduler.trigger(&task.id, None).await.unwrap();
        h.run_until(h.clock.now() + ms(1)).await;
        order.push(h.execution(&exec.id).await.executor_id.unwrap());
    }
    assert_eq!(
        order,
        vec![es[1].id.clone(), es[2].id.clone(), es[1].id.clone(), es[2].id.clone()]
    );
    // Both preferred executors go away: the next tier takes over.
    for e in &es[1..] {
        h.scheduler
            .set_executor_status(&e.id, ExecutorStatus::Maintenance, None)
            .await
            .unwrap();
    }
    let exec = h.scheduler.trigger(&task.id, None).await.unwrap();
    h.run_until(h.clock.now() + ms(1)).await;
    assert_eq!(h.execution(&exec.id).await.executor_id.unwrap(), es[0].id);
}

#[tokio::test(start_paused = true)]
async fn unassigned_task_may_run_on_any_available_executor() {
    let h = harness().await;
    let es = h.executors(&["a", "b"]).await;
    h.scheduler
        .set_executor_status(&es[0].id, ExecutorStatus::Offline, None)
        .await
        .unwrap();
    let (_, order) = dispatch_n(&h, StrategyName::ROUND_ROBIN, 3).await;
    assert!(order.iter().all(|x| *x == es[1].id));
}

/// A strategy registered by the embedding program: always the last candidate.
struct LastOne;

#[async_trait::async_trait]
impl LoadBalancer for LastOne {
    async fn pick(&self, _ctx: &BalanceContext<'_>, candidates: &[Candidate]) -> StoreResult<usize> {
        Ok(candidates.len() - 1)
    }
}

#[tokio::test(start_paused = true)]
async fn custom_strategies_are_registered_by_name() {
    let h = harness_with(config(), |b| b.balancer("last_one", Arc::new(LastOne))).await;
    let es = h.executors(&["a", "b", "c"]).await;
    let (_, order) = dispatch_n(&h, StrategyName::new("last_one"), 3).await;
    assert!(order.iter().all(|x| *x == es[2].id));
}
