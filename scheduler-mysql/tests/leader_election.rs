//! Leader election with `GET_LOCK`: exclusivity, failover after the leader's
//! connection dies, quick hand-over on release.

mod common;

use scheduler_core::Leadership;
use scheduler_mysql::{MysqlLeadership, MysqlLeadershipConfig};
use std::time::{Duration, Instant};

const HEARTBEAT: Duration = Duration::from_millis(500);
const LOCK_TIMEOUT: Duration = Duration::from_secs(2);

/// Two contenders for a lock name no other test uses, or `None` (skip).
async fn pair() -> Option<(MysqlLeadership, MysqlLeadership)> {
    if !common::reachable().await {
        return None;
    }
    let config = MysqlLeadershipConfig {
        lock_key: format!("sched_test_lock_{}", uuid::Uuid::now_v7().simple()),
        heartbeat_interval: HEARTBEAT,
        lock_timeout: LOCK_TIMEOUT,
    };
    let url = common::server_url();
    let a = MysqlLeadership::new(url.clone(), config.clone());
    let b = MysqlLeadership::new(url, config);
    a.start("a").await;
    b.start("b").await;
    Some((a, b))
}

/// Waits until `pred` holds, polling every 10 ms; the time it took, or `None`.
async fn wait_for(limit: Duration, pred: impl Fn() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if pred() {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    pred().then(|| start.elapsed())
}

fn leaders(a: &MysqlLeadership, b: &MysqlLeadership) -> usize {
    usize::from(a.is_leader()) + usize::from(b.is_leader())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_one_of_two_contenders_leads() {
    let Some((a, b)) = pair().await else { return };
    assert!(
        wait_for(Duration::from_secs(5), || leaders(&a, &b) == 1)
            .await
            .is_some(),
        "nobody became leader"
    );
    // Several heartbeats: never two leaders, and the leader stays the leader.
    let first = a.is_leader();
    let start = Instant::now();
    while start.elapsed() < HEARTBEAT * 5 {
        assert_eq!(leaders(&a, &b), 1, "exactly one instance leads");
        assert_eq!(a.is_leader(), first, "leadership does not flap");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.release().await;
    b.release().await;
    assert_eq!(leaders(&a, &b), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leaders_connection_hands_over_within_lock_timeout_and_a_heartbeat() {
    let Some((a, b)) = pair().await else { return };
    wait_for(Duration::from_secs(5), || leaders(&a, &b) == 1)
        .await
        .expect("a leader is elected");
    let (leader, follower) = if a.is_leader() { (&a, &b) } else { (&b, &a) };
    let mut leader_flag = leader.subscribe();
    leader_flag.borrow_and_update();
    let conn = leader.lock_connection_id().expect("the leader has a lock connection");

    // The leader's server connection dies (as when its host vanishes).
    common::kill(conn).await;
    let killed = Instant::now();

    let took = wait_for(LOCK_TIMEOUT + HEARTBEAT, || follower.is_leader())
        .await
        .unwrap_or_else(|| panic!("no takeover within lock_timeout + heartbeat"));
    eprintln!("takeover after {took:?}");
    // The old leader notices at its next check and steps down.
    wait_for(HEARTBEAT * 2, || !leader.is_leader())
        .await
        .expect("the old leader steps down");
    assert!(killed.elapsed() < LOCK_TIMEOUT + HEARTBEAT * 3);
    assert!(
        leader_flag.has_changed().unwrap_or(false),
        "the old leader published false"
    );

    // It reconnects and competes again, as a follower now.
    wait_for(HEARTBEAT * 4, || {
        leader.lock_connection_id().is_some_and(|id| id != conn)
    })
    .await
    .expect("the old leader reconnects");
    tokio::time::sleep(HEARTBEAT * 2).await;
    assert_eq!(leaders(&a, &b), 1);
    assert!(follower.is_leader());

    a.release().await;
    b.release().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sole_leader_that_loses_its_connection_steps_down_then_leads_again() {
    if !common::reachable().await {
        return;
    }
    let config = MysqlLeadershipConfig {
        lock_key: format!("sched_test_lock_{}", uuid::Uuid::now_v7().simple()),
        heartbeat_interval: HEARTBEAT,
        lock_timeout: LOCK_TIMEOUT,
    };
    let a = MysqlLeadership::new(common::server_url(), config);
    let mut flag = a.subscribe();
    a.start("a").await;
    wait_for(Duration::from_secs(5), || a.is_leader()).await.expect("leads");
    flag.borrow_and_update();
    let conn = a.lock_connection_id().expect("connected");
    common::kill(conn).await;

    // First false (stop firing), then true again on a new connection.
    tokio::time::timeout(HEARTBEAT * 3, flag.changed())
        .await
        .expect("a change is published")
        .expect("sender alive");
    assert!(
        !*flag.borrow_and_update(),
        "losing the connection publishes false first"
    );
    wait_for(HEARTBEAT * 4, || a.is_leader()).await.expect("leads again");
    assert_ne!(a.lock_connection_id(), Some(conn));
    a.release().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_hands_over_within_a_heartbeat() {
    let Some((a, b)) = pair().await else { return };
    wait_for(Duration::from_secs(5), || leaders(&a, &b) == 1)
        .await
        .expect("a leader is elected");
    let (leader, follower) = if a.is_leader() { (&a, &b) } else { (&b, &a) };
    let released = Instant::now();
    leader.release().await;
    assert!(!leader.is_leader(), "release publishes false at once");
    let took = wait_for(HEARTBEAT * 2, || follower.is_leader())
        .await
        .expect("the follower takes over quickly after release");
    eprintln!(
        "hand-over after {took:?} (release took {:?})",
        released.elapsed() - took
    );
    assert!(released.elapsed() < HEARTBEAT * 2 + Duration::from_millis(500));
    // A released contender stays out.
    tokio::time::sleep(HEARTBEAT * 2).await;
    assert!(!leader.is_leader());
    assert!(follower.is_leader());
    follower.release().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_never_grants_leadership() {
    let config = MysqlLeadershipConfig {
        lock_key: "sched_test_unreachable".to_owned(),
        heartbeat_interval: Duration::from_millis(100),
        lock_timeout: Duration::from_secs(1),
    };
    // Port 1 on loopback: connection refused at once.
    let a = MysqlLeadership::new("mysql://root@127.0.0.1:1", config);
    a.start("a").await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(!a.is_leader());
    assert_eq!(a.lock_connection_id(), None);
    a.release().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_last_handle_frees_the_lock() {
    let Some((a, b)) = pair().await else { return };
    wait_for(Duration::from_secs(5), || leaders(&a, &b) == 1)
        .await
        .expect("a leader is elected");
    let (leader, follower) = if a.is_leader() { (a, b) } else { (b, a) };
    let flag = leader.subscribe();
    let clone = leader.clone();
    drop(leader);
    tokio::time::sleep(HEARTBEAT * 2).await;
    assert!(clone.is_leader(), "a clone keeps the campaign alive");
    assert!(!follower.is_leader());
    drop(clone);
    assert!(!*flag.borrow(), "dropping the last handle publishes false");
    wait_for(HEARTBEAT * 3, || follower.is_leader())
        .await
        .expect("the follower takes over once the last handle is gone");
    follower.release().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_leader_steps_down_before_another_takes_over() {
    if !common::reachable().await {
        return;
    }
    let config = MysqlLeadershipConfig {
        lock_key: format!("sched_test_lock_{}", uuid::Uuid::now_v7().simple()),
        heartbeat_interval: HEARTBEAT,
        lock_timeout: LOCK_TIMEOUT,
    };
    // The leader talks to the server through a proxy that will go silent
    // (no byte either way, no connection closed): a hung host or a network
    // partition. Only the server's wait_timeout can free its lock.
    let proxy = common::Proxy::start().await;
    let a = MysqlLeadership::new(proxy.url(""), config.clone());
    a.start("a").await;
    wait_for(Duration::from_secs(5), || a.is_leader())
        .await
        .expect("a leads");
    let b = MysqlLeadership::new(common::server_url(), config);
    b.start("b").await;
    tokio::time::sleep(HEARTBEAT * 2).await;
    assert!(a.is_leader() && !b.is_leader());

    proxy.freeze();
    let frozen = Instant::now();
    let mut a_down = None;
    let mut b_up = None;
    while frozen.elapsed() < LOCK_TIMEOUT + HEARTBEAT * 4 && (a_down.is_none() || b_up.is_none()) {
        if a_down.is_none() && !a.is_leader() {
            a_down = Some(frozen.elapsed());
        }
        if b_up.is_none() && b.is_leader() {
            b_up = Some(frozen.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let a_down = a_down.expect("the partitioned leader steps down");
    let b_up = b_up.expect("another instance takes over");
    eprintln!("partitioned leader stepped down after {a_down:?}, takeover after {b_up:?}");
    assert!(a_down < b_up, "never two leaders: the old one stops first");
    assert!(
        b_up <= LOCK_TIMEOUT + HEARTBEAT + Duration::from_millis(1500),
        "takeover within lock_timeout + one heartbeat (+ the server's timeout granularity)"
    );

    proxy.thaw();
    tokio::time::sleep(HEARTBEAT * 3).await;
    assert!(!a.is_leader() && b.is_leader(), "the healed instance stays a follower");
    a.release().await;
    b.release().await;
    proxy.down().await;
}
