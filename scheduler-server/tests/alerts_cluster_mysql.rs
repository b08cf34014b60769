//! Alerts on a two-instance cluster on MariaDB (server processes): an alert
//! the leader could not deliver (its receiver was down) is delivered by the
//! next leader after the first is killed, with the same id; the new leader
//! says so (`leader_changed`); and a task that missed its instants while no
//! instance ran raises `misfire` when an instance comes back.

mod common;

use common::e2e::{Behaviour, FakeExecutor};
use common::eventually;
use common::node::{Node, get};
use common::webhook::Receiver;
use scheduler_mysql::test_util::TestDb;
use serde_json::{Value, json};
use std::time::Duration;

/// The `alerts` section pointing at the test's receiver.
fn webhook_yaml(hook_url: &str) -> String {
    format!("alerts:\n  webhooks:\n    - url: \"{hook_url}\"\n      secret: cluster-secret\n      min_interval: 0s\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undelivered_alert_survives_a_leader_crash_and_misfires_are_reported() {
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
    let hook = Receiver::start(&[]).await;
    // The receiver is down (503) until the second leader runs.
    hook.answer(503);
    let mut a = Node::start(&url, "node-a", &webhook_yaml(&hook.url()));
    eventually(limit, "node-a to lead", || a.leads(&client)).await;
    let b = Node::start(&url, "node-b", &webhook_yaml(&hook.url()));

    // A task whose only attempt is refused: execution_failed, queued by a.
    let fake = FakeExecutor::start(Behaviour::Refuse(500)).await;
    let reg = client
        .post(format!("{}/api/v1/executors/register", a.base))
        .json(&json!({"name": "fake", "instance_id": "fake-1", "base_url": fake.base_url()}))
        .send()
        .await
        .unwrap();
    assert_eq!(reg.status().as_u16(), 201);
    let task: Value = client
        .post(format!("{}/api/v1/tasks", a.base))
        .json(&json!({"name": "fails", "cron_expression": "0 0 0 1 1 *", "max_retry": 0, "status": "paused"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let task_id = task["id"].as_str().unwrap().to_owned();
    let exec: Value = client
        .post(format!("{}/api/v1/tasks/{task_id}/trigger", a.base))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let exec_id = exec["id"].as_str().unwrap().to_owned();
    let alert_id = eventually(limit, "node-a to try the alert", || async {
        hook.got()
            .into_iter()
            .find(|r| r.json["event"] == "execution_failed")
            .map(|r| r.json["id"].as_str().unwrap().to_owned())
    })
    .await;

    // The leader dies with the alert undelivered; b takes over, the
    // receiver comes back, and b delivers the same alert.
    a.kill();
    eventually(limit, "node-b to take over", || b.leads(&client)).await;
    hook.answer(200);
    let delivered = eventually(limit, "the alert delivered by node-b", || async {
        hook.delivered("execution_failed")
            .into_iter()
            .find(|r| r.json["id"] == alert_id.as_str())
    })
    .await;
    assert_eq!(delivered.json["subject"]["execution_id"], exec_id.as_str());
    assert!(delivered.signature.as_deref().is_some_and(|s| s.starts_with("sha256=")));
    let gained = eventually(limit, "node-b's leader_changed", || async {
        hook.delivered("leader_changed")
            .into_iter()
            .find(|r| r.json["subject"]["instance_id"] == "node-b")
    })
    .await;
    assert!(gained.json["message"].as_str().unwrap().contains("became the leader"));
    let list = eventually(limit, "the alert listed as delivered", || async {
        let l = get(&client, &format!("{}/api/v1/alerts?page_size=200", b.base)).await?;
        let item = l["items"]
            .as_array()?
            .iter()
            .find(|i| i["id"] == alert_id.as_str())?
            .clone();
        (item["delivered"] == true).then_some(item)
    })
    .await;
    assert!(list["attempts"].as_u64().unwrap() >= 2, "{list}");

    // A task every 2 s; no instance runs for 8 s; the one that comes back
    // reports the misfire.
    let every: Value = client
        .post(format!("{}/api/v1/tasks", b.base))
        .json(&json!({"name": "every-2s", "cron_expression": "*/2 * * * * *", "misfire_policy": "skip"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let every_id = every["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_secs(3)).await;
    drop(b);
    tokio::time::sleep(Duration::from_secs(8)).await;
    let c = Node::start(&url, "node-c", &webhook_yaml(&hook.url()));
    eventually(limit, "node-c to lead", || c.leads(&client)).await;
    let misfire = eventually(limit, "the misfire alert", || async {
        hook.delivered("misfire")
            .into_iter()
            .find(|r| r.json["subject"]["task_id"] == every_id.as_str())
    })
    .await;
    assert!(
        misfire.json["message"].as_str().unwrap().contains("skipped"),
        "{}",
        misfire.json
    );
    let mut ids: Vec<String> = hook
        .delivered("execution_failed")
        .into_iter()
        .map(|r| r.json["id"].as_str().unwrap().to_owned())
        .collect();
    ids.retain(|i| *i == alert_id);
    assert!(!ids.is_empty());
}
