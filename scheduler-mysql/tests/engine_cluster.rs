//! The engine on MySQL: two instances on one database where only the leader
//! fires and every (task, instant) runs exactly once across a leader's death;
//! a restart that resumes from the stored state; a database outage.

mod common;

use chrono::{DateTime, Utc};
use common::{Proxy, TestDb, kill};
use scheduler_core::*;
use scheduler_mysql::{MysqlLeadership, MysqlLeadershipConfig, MysqlStore};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Runs = Arc<Mutex<Vec<(String, ExecutionId, DateTime<Utc>)>>>;

fn leadership(url: &str) -> Arc<MysqlLeadership> {
    // Lock names are server-wide and these tests run in parallel: one lock per
    // test database (the URL names it), at most 64 characters.
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    url.rsplit('/').next().unwrap_or(url).split('?').next().hash(&mut h);
    Arc::new(MysqlLeadership::new(
        url,
        MysqlLeadershipConfig {
            lock_key: format!("engine_cluster_test_{:016x}", h.finish()),
            heartbeat_interval: Duration::from_millis(300),
            lock_timeout: Duration::from_secs(2),
        },
    ))
}

fn config() -> SchedulerConfig {
    SchedulerConfig {
        heartbeat_interval: Duration::from_millis(500),
        ..SchedulerConfig::default()
    }
}

async fn engine(name: &'static str, url: &str, lead: Arc<MysqlLeadership>, runs: Runs) -> Scheduler {
    let store = MysqlStore::connect(url, 5).await.expect("connect");
    let s = Scheduler::builder()
        .instance_id(name)
        .store(Arc::new(store))
        .leadership(lead)
        .config(config())
        .handler("tick", move |ctx: JobContext| {
            let runs = runs.clone();
            async move {
                runs.lock()
                    .unwrap()
                    .push((name.to_owned(), ctx.execution_id.clone(), ctx.scheduled_time));
                Ok::<_, String>(serde_json::Value::Null)
            }
        })
        .build();
    s.start().await.expect("start");
    s
}

async fn executions(store: &Arc<dyn Store>, task: &TaskId) -> Vec<Execution> {
    let f = ExecutionFilter {
        task_id: Some(task.clone()),
        ..Default::default()
    };
    let mut v = store
        .list_executions(&f, &ListFrom::Page(1), 200)
        .await
        .expect("list")
        .items;
    v.reverse();
    v
}

async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Every instant from the first to the last scheduled one appears once.
fn assert_each_instant_once(ex: &[Execution], until: DateTime<Utc>) {
    let mut per: BTreeMap<DateTime<Utc>, usize> = BTreeMap::new();
    for e in ex.iter().filter(|e| e.scheduled_time <= until) {
        *per.entry(e.scheduled_time).or_default() += 1;
    }
    let instants: Vec<_> = per.keys().copied().collect();
    assert!(instants.len() >= 3, "too few fires: {instants:?}");
    for w in instants.windows(2) {
        assert_eq!(
            w[1] - w[0],
            chrono::Duration::seconds(1),
            "an instant is missing between {} and {}",
            w[0],
            w[1]
        );
    }
    assert!(per.values().all(|n| *n == 1), "an instant fired twice: {per:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leader_fires_and_failover_runs_every_instant_exactly_once() {
    let Some(db) = TestDb::create().await else { return };
    let runs: Runs = Arc::new(Mutex::new(Vec::new()));
    let (la, lb) = (leadership(&db.url), leadership(&db.url));
    let a = engine("alpha", &db.url, la.clone(), runs.clone()).await;
    wait_for("alpha to lead", async || a.is_leader()).await;
    let b = engine("beta", &db.url, lb.clone(), runs.clone()).await;
    assert!(!b.is_leader());

    // Created through the follower: the leader picks it up from the database.
    let task = b.add_task(NewTask::new("tick", "* * * * * *")).await.expect("task");
    wait_for("three fires", async || runs.lock().unwrap().len() >= 3).await;
    assert!(
        runs.lock().unwrap().iter().all(|(who, _, _)| who == "alpha"),
        "only the leader runs tasks"
    );
    let status = b.system_status().await.expect("status");
    assert_eq!(status.instances.len(), 2);
    assert!(status.instances.iter().any(|i| i.instance_id == "alpha" && i.is_leader));

    // The leader dies: its lock connection is killed, and it never competes again.
    let conn = la.lock_connection_id().expect("alpha holds the lock on a connection");
    kill(conn).await;
    la.release().await;
    wait_for("beta to take over", async || b.is_leader()).await;
    assert!(!a.is_leader());
    let before = runs.lock().unwrap().iter().filter(|(w, _, _)| w == "beta").count();
    wait_for("beta to fire", async || {
        runs.lock().unwrap().iter().filter(|(w, _, _)| w == "beta").count() >= before + 3
    })
    .await;
    b.pause_task(&task.id).await.expect("pause");
    let until = Utc::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let ex = executions(b.store(), &task.id).await;
    assert_each_instant_once(&ex, until);
    assert!(ex.iter().all(|e| e.status.is_final()), "every execution final: {ex:?}");
    // No execution ran twice, on either instance.
    let mut ids: Vec<_> = runs.lock().unwrap().iter().map(|(_, id, _)| id.clone()).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "an execution was run twice");
    a.shutdown().await;
    b.shutdown().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_from_the_stored_state() {
    let Some(db) = TestDb::create().await else { return };
    let runs: Runs = Arc::new(Mutex::new(Vec::new()));
    let first = engine("first", &db.url, leadership(&db.url), runs.clone()).await;
    let task = first.add_task(NewTask::new("tick", "* * * * * *")).await.expect("task");
    wait_for("two fires", async || runs.lock().unwrap().len() >= 2).await;
    first.shutdown().await;
    drop(first);
    let stored = MysqlStore::connect(&db.url, 2).await.expect("connect");
    assert!(stored.get_task(&task.id).await.expect("task").next_run_time.is_some());

    let second = engine("second", &db.url, leadership(&db.url), runs.clone()).await;
    wait_for("the restarted engine to fire", async || {
        runs.lock().unwrap().iter().filter(|(w, _, _)| w == "second").count() >= 2
    })
    .await;
    second.pause_task(&task.id).await.expect("pause");
    let until = Utc::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let ex = executions(second.store(), &task.id).await;
    assert_each_instant_once(&ex, until);
    assert!(ex.iter().all(|e| e.status.is_final()));
    second.shutdown().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_stops_firing_and_loses_nothing() {
    let Some(db) = TestDb::create().await else { return };
    let proxy = Proxy::start().await;
    let url = proxy.url(&db.name);
    let runs: Runs = Arc::new(Mutex::new(Vec::new()));
    let s = engine("solo", &url, leadership(&url), runs.clone()).await;
    wait_for("the engine to lead", async || s.is_leader()).await;
    let task = s.add_task(NewTask::new("tick", "* * * * * *")).await.expect("task");
    wait_for("two fires", async || runs.lock().unwrap().len() >= 2).await;

    proxy.down().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let err = s.store().ping().await.expect_err("the database is away");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let during = runs.lock().unwrap().len();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        runs.lock().unwrap().len() <= during + 1,
        "no firing without the database"
    );

    proxy.up().await;
    wait_for("firing to resume", async || runs.lock().unwrap().len() >= during + 3).await;
    s.pause_task(&task.id).await.expect("pause");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ex = executions(s.store(), &task.id).await;
    let mut per: BTreeMap<DateTime<Utc>, usize> = BTreeMap::new();
    for e in &ex {
        *per.entry(e.scheduled_time).or_default() += 1;
    }
    assert!(per.values().all(|n| *n == 1), "an instant fired twice: {per:?}");
    assert!(ex.iter().all(|e| e.status.is_final()), "nothing left non-final: {ex:?}");
    s.shutdown().await;
    db.drop_db().await;
}
