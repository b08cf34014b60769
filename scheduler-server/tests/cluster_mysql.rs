//! Two `scheduler-server` processes on one MySQL database: both serve the
//! API, exactly one leads, `/system/status` shows both; when the leader is
//! killed (SIGKILL) the other takes over, and no `(task, scheduled_time)` is
//! executed twice.

mod common;

use common::e2e::{Behaviour, FakeExecutor};
use common::eventually;
use common::node::{Node, get};
use scheduler_mysql::test_util::TestDb;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_one_leader_failover_without_duplicates() {
    let Some(db) = TestDb::create().await else { return };
    let outcome = tokio::spawn(scenario(db.url.clone())).await;
    db.drop_db().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn scenario(url: String) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let limit = Duration::from_secs(30);
    let mut a = Node::start(&url, "node-a", "");
    eventually(limit, "node-a to lead", || async {
        a.status(&client).await.filter(|s| s["scheduler"]["leader"] == true)
    })
    .await;
    let mut b = Node::start(&url, "node-b", "");

    // Both serve the API, exactly one leads, both appear in the status.
    let (sa, sb) = eventually(limit, "both instances in the status", || async {
        let sa = a.status(&client).await?;
        let sb = b.status(&client).await?;
        let both = |s: &Value| {
            let ids: Vec<&str> = s["scheduler"]["instances"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["alive"] == true)
                .map(|i| i["instance_id"].as_str().unwrap())
                .collect();
            ids.contains(&"node-a") && ids.contains(&"node-b")
        };
        (both(&sa) && both(&sb)).then_some((sa, sb))
    })
    .await;
    assert_eq!(sa["scheduler"]["instance_id"], "node-a");
    assert_eq!(sb["scheduler"]["instance_id"], "node-b");
    assert_eq!(sa["scheduler"]["leader"], true);
    assert_eq!(sb["scheduler"]["leader"], false, "exactly one leader");
    let leaders = eventually(limit, "the instance rows to agree on one leader", || async {
        let s = b.status(&client).await?;
        let rows = s["scheduler"]["instances"].as_array()?.clone();
        let leaders: Vec<String> = rows
            .iter()
            .filter(|i| i["is_leader"] == true)
            .map(|i| i["instance_id"].as_str().unwrap().to_owned())
            .collect();
        (leaders.len() == 1).then_some(leaders)
    })
    .await;
    assert_eq!(leaders, ["node-a"]);

    // An executor registered on one node, a task created on the other: the
    // leader fires it every second.
    let fake = FakeExecutor::start(Behaviour::SyncSuccess(json!({"ok": true}))).await;
    let reg = client
        .post(format!("{}/api/v1/executors/register", a.base))
        .json(&json!({"name": "fake", "instance_id": "fake-1", "base_url": fake.base_url()}))
        .send()
        .await
        .unwrap();
    assert_eq!(reg.status().as_u16(), 201);
    let task = client
        .post(format!("{}/api/v1/tasks", b.base))
        .json(&json!({"name": "every-second", "cron_expression": "* * * * * *"}))
        .send()
        .await
        .unwrap();
    assert_eq!(task.status().as_u16(), 201);
    let task: Value = task.json().await.unwrap();
    let task_id = task["id"].as_str().unwrap().to_owned();
    fake.wait_executes(3).await;

    // Kill the leader; the other takes over within lock_timeout + a heartbeat.
    a.kill();
    let before = fake.executes().len();
    eventually(limit, "node-b to take over", || async {
        b.status(&client).await.filter(|s| s["scheduler"]["leader"] == true)
    })
    .await;
    eventually(limit, "fires after the takeover", || async {
        (fake.executes().len() >= before + 3).then_some(())
    })
    .await;

    // No (task, scheduled_time) reached the executor twice, and the store
    // agrees: one execution per instant.
    let executes = fake.executes();
    let mut per_instant: HashMap<(String, String), usize> = HashMap::new();
    for e in &executes {
        let key = (
            e["task_id"].as_str().unwrap().to_owned(),
            e["scheduled_time"].as_str().unwrap().to_owned(),
        );
        *per_instant.entry(key).or_default() += 1;
    }
    let twice: Vec<_> = per_instant.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "executed twice: {twice:?}");
    let list = get(
        &client,
        &format!("{}/api/v1/executions?task_id={task_id}&page_size=200", b.base),
    )
    .await
    .unwrap();
    let mut instants: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["scheduled_time"].as_str().unwrap())
        .collect();
    let n = instants.len();
    instants.sort_unstable();
    instants.dedup();
    assert_eq!(instants.len(), n, "one execution per scheduled instant");
    assert!(n >= 6, "fires before and after the takeover: {n}");

    // The survivor still serves and stops cleanly.
    assert_eq!(b.terminate(), Some(0), "{:?}", b.drain_log());
}
