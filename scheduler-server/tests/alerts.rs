//! Alerts end to end on the memory store: a real server, a fake executor and
//! a fake webhook receiver. Each event kind produced for real, the signature
//! checked, `min_interval` suppression and its count, retries after a 500,
//! `GET /api/v1/alerts`, and bad configuration.

mod common;

use common::e2e::{Behaviour, FakeExecutor, SOON, TestServer, test_config};
use common::eventually;
use common::webhook::{Received, Receiver};
use hmac::{Hmac, KeyInit, Mac};
use scheduler_server::Config;
use scheduler_server::config::ConfigDuration;
use scheduler_server::config::WebhookConfig;
use serde_json::{Value, json};
use std::time::Duration;

const SECRET: &str = "webhook-test-secret";

fn config_with(hook: &Receiver, events: &[&str], min_interval: Duration) -> Config {
    let mut c = test_config(None);
    c.alerts.webhooks = vec![WebhookConfig {
        url: hook.url(),
        events: Some(events.iter().map(|e| (*e).to_owned()).collect()),
        secret: Some(SECRET.to_owned()),
        min_interval: ConfigDuration(min_interval),
    }];
    c
}

async fn wait_delivered(hook: &Receiver, event: &str, n: usize) -> Vec<Received> {
    eventually(SOON, &format!("{n} {event} alert(s) delivered"), || async {
        let got = hook.delivered(event);
        (got.len() >= n).then_some(got)
    })
    .await
}

fn verify(r: &Received) {
    let sig = r.signature.as_deref().expect("a signature header");
    let hex_sig = sig.strip_prefix("sha256=").expect("sha256= prefix");
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&r.body);
    mac.verify_slice(&hex::decode(hex_sig).unwrap())
        .expect("the signature matches the body");
}

async fn failing_task(s: &TestServer, name: &str, max_retry: u32) -> String {
    s.create_task(json!({
        "name": name, "cron_expression": "0 0 0 1 1 *", "max_retry": max_retry, "status": "paused"
    }))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_with_retries_exhausted_is_delivered_signed_and_listed() {
    let hook = Receiver::start(&[]).await;
    let s = TestServer::start(config_with(&hook, &["execution_failed"], Duration::from_secs(60))).await;
    let fake = FakeExecutor::start(Behaviour::Refuse(500)).await;
    let executor_id = s.register(&fake, "refuser").await;
    let task = failing_task(&s, "nightly-report", 1).await;
    let exec = s.trigger(&task, &json!({})).await;
    s.wait_status(&exec, "failed").await;
    let got = wait_delivered(&hook, "execution_failed", 1).await;
    let r = &got[0];
    verify(r);
    let p = &r.json;
    assert_eq!(p["subject"]["task_id"], task.as_str());
    assert_eq!(p["subject"]["task_name"], "nightly-report");
    assert_eq!(p["subject"]["execution_id"], exec.as_str());
    assert_eq!(p["subject"]["executor_id"], executor_id.as_str());
    assert_eq!(p["suppressed"], 0);
    assert!(p["message"].as_str().unwrap().contains("after 2 attempt(s)"), "{p}");
    assert!(p["id"].as_str().is_some_and(|i| !i.is_empty()));
    assert!(common::is_api_timestamp(p["at"].as_str().unwrap()), "{p}");
    // Only the event asked for: no leader_changed to this webhook.
    assert!(hook.got().iter().all(|r| r.json["event"] == "execution_failed"));

    let list = eventually(SOON, "the alert listed as delivered", || async {
        let l = s.get("/api/v1/alerts").await;
        assert_eq!(l.status, 200, "{}", l.body);
        (l.body["items"][0]["delivered"] == true).then_some(l.body)
    })
    .await;
    assert_eq!(list["total"], 1);
    assert_eq!((list["page"].clone(), list["page_size"].clone()), (json!(1), json!(20)));
    let item = &list["items"][0];
    assert_eq!(item["id"], p["id"]);
    assert_eq!(item["event"], "execution_failed");
    assert_eq!(item["attempts"], 1);
    assert_eq!(item["subject"], p["subject"]);
    let bad = s.get("/api/v1/alerts?page_size=500").await;
    assert_eq!(bad.status, 400);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_final_timeout_is_delivered() {
    let hook = Receiver::start(&[]).await;
    let s = TestServer::start(config_with(&hook, &["execution_timeout"], Duration::from_secs(60))).await;
    let fake = FakeExecutor::start(Behaviour::Accept).await;
    s.register(&fake, "sleeper").await;
    let task = s
        .create_task(json!({
            "name": "slow", "cron_expression": "0 0 0 1 1 *", "max_retry": 0, "timeout_seconds": 1, "status": "paused"
        }))
        .await;
    let exec = s.trigger(&task, &json!({})).await;
    let got = wait_delivered(&hook, "execution_timeout", 1).await;
    assert_eq!(got[0].json["subject"]["execution_id"], exec.as_str());
    verify(&got[0]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_executor_going_unhealthy_then_recovering_is_two_alerts() {
    let hook = Receiver::start(&[]).await;
    let s = TestServer::start(config_with(
        &hook,
        &["executor_unhealthy", "executor_recovered"],
        Duration::from_secs(60),
    ))
    .await;
    let fake = FakeExecutor::start(Behaviour::Accept).await;
    let id = s.register(&fake, "flaky").await;
    fake.set_health(500);
    let down = wait_delivered(&hook, "executor_unhealthy", 1).await;
    assert_eq!(down[0].json["subject"]["executor_id"], id.as_str());
    assert_eq!(down[0].json["subject"]["instance_id"], "flaky");
    assert!(
        down[0].json["message"].as_str().unwrap().contains("500"),
        "{}",
        down[0].json
    );
    fake.set_health(200);
    let up = wait_delivered(&hook, "executor_recovered", 1).await;
    assert_eq!(up[0].json["subject"]["executor_id"], id.as_str());
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(hook.got().len(), 2, "a steady executor is silent: {:?}", hook.got());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_interval_holds_back_and_counts_per_task() {
    let hook = Receiver::start(&[]).await;
    let s = TestServer::start(config_with(&hook, &["execution_failed"], Duration::from_secs(3))).await;
    let fake = FakeExecutor::start(Behaviour::Refuse(503)).await;
    s.register(&fake, "refuser").await;
    let a = failing_task(&s, "a", 0).await;
    let b = failing_task(&s, "b", 0).await;
    let started = std::time::Instant::now();
    for _ in 0..3 {
        let e = s.trigger(&a, &json!({})).await;
        s.wait_status(&e, "failed").await;
    }
    let e = s.trigger(&b, &json!({})).await;
    s.wait_status(&e, "failed").await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the burst took too long to test suppression"
    );
    // One per task: a's two later failures are held back, b has its own key.
    let got = wait_delivered(&hook, "execution_failed", 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hook.got().len(), 2, "{:?}", hook.got());
    assert!(got.iter().all(|r| r.json["suppressed"] == 0));
    // After the interval, a's next alert carries the two held back.
    tokio::time::sleep(Duration::from_secs(3).saturating_sub(started.elapsed())).await;
    let e = s.trigger(&a, &json!({})).await;
    s.wait_status(&e, "failed").await;
    let got = wait_delivered(&hook, "execution_failed", 3).await;
    let last = &got[2].json;
    assert_eq!(last["subject"]["task_id"], a.as_str());
    assert_eq!(last["suppressed"], 2, "{last}");
    let list = s.get("/api/v1/alerts").await.body;
    assert_eq!(list["total"], 3);
    assert_eq!(list["items"][0]["suppressed"], 2, "newest first: {list}");
    let metrics = s
        .client
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("chronoflow_alerts_suppressed_total{event=\"execution_failed\"} 2"),
        "{metrics}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_answering_500_gets_the_alert_on_retry() {
    let hook = Receiver::start(&[500]).await;
    let s = TestServer::start(config_with(&hook, &["execution_failed"], Duration::from_secs(60))).await;
    let fake = FakeExecutor::start(Behaviour::Refuse(500)).await;
    s.register(&fake, "refuser").await;
    let task = failing_task(&s, "t", 0).await;
    let exec = s.trigger(&task, &json!({})).await;
    let got = wait_delivered(&hook, "execution_failed", 1).await;
    let all = hook.got();
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[0].answered, 500);
    assert_eq!(all[0].json["id"], got[0].json["id"], "the same alert, retried");
    assert_eq!(got[0].json["subject"]["execution_id"], exec.as_str());
    let list = eventually(SOON, "the alert delivered on its 2nd attempt", || async {
        let l = s.get("/api/v1/alerts").await.body;
        (l["items"][0]["delivered"] == true).then_some(l)
    })
    .await;
    assert_eq!(list["items"][0]["attempts"], 2);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_goes_to_a_webhook_without_a_filter() {
    let hook = Receiver::start(&[]).await;
    let mut c = test_config(None);
    c.alerts.webhooks = vec![WebhookConfig::new(hook.url())];
    let s = TestServer::start(c).await;
    // The in-memory store's only instance leads from its start.
    let got = wait_delivered(&hook, "leader_changed", 1).await;
    assert!(got[0].json["subject"]["instance_id"].is_string());
    assert!(got[0].signature.is_none(), "no secret: unsigned");
    s.stop().await;
}

fn bad(yaml: &str) -> String {
    match Config::from_yaml(yaml) {
        Ok(_) => panic!("accepted: {yaml}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_alert_configuration_names_the_key() {
    let url = bad("alerts:\n  webhooks:\n    - url: \"ftp://x\"\n");
    assert!(url.contains("alerts.webhooks[0].url"), "{url}");
    let rel = bad("alerts:\n  webhooks:\n    - url: \"http://ok.test/a\"\n    - url: \"/relative\"\n");
    assert!(rel.contains("alerts.webhooks[1].url"), "{rel}");
    let event =
        bad("alerts:\n  webhooks:\n    - url: \"http://ok.test/a\"\n      events: [execution_failed, job_failed]\n");
    assert!(
        event.contains("alerts.webhooks[0].events") && event.contains("job_failed"),
        "{event}"
    );
    let dur = bad("alerts:\n  webhooks:\n    - url: \"http://ok.test/a\"\n      min_interval: \"soon\"\n");
    assert!(dur.contains("alerts.webhooks") && dur.contains("min_interval"), "{dur}");
    let key = bad("alerts:\n  webhooks:\n    - url: \"http://ok.test/a\"\n      retries: 3\n");
    assert!(key.contains("retries"), "{key}");
    let twice = bad("alerts:\n  webhooks:\n    - url: \"http://ok.test/a\"\n    - url: \"http://ok.test/a\"\n");
    assert!(twice.contains("listed twice"), "{twice}");
    let ok = Config::from_yaml(
        "alerts:\n  webhooks:\n    - url: \"https://hooks.example.com/scheduler\"\n      events: [misfire]\n      secret: s\n      min_interval: 5m\n",
    )
    .unwrap();
    assert_eq!(ok.alerts.webhooks[0].min_interval.0, Duration::from_secs(300));
    let default = Config::from_yaml("alerts:\n  webhooks:\n    - url: \"http://ok.test/a\"\n").unwrap();
    assert_eq!(default.alerts.webhooks[0].min_interval.0, Duration::from_secs(60));
    assert_eq!(default.alerts.webhooks[0].kinds().len(), 6);
    let _: Value = json!(null);
}
