//! Health probes: at once on registration, then every interval; thresholds.

mod common;
use common::*;
use scheduler_core::*;

#[tokio::test(start_paused = true)]
async fn probes_on_registration_and_every_interval_with_thresholds() {
    let mut cfg = config();
    cfg.health_check_interval = std::time::Duration::from_secs(10);
    let h = harness_with(cfg, |b| b).await;
    h.run_until(t0() + secs(1)).await;
    let e = h.executor("e1").await;
    h.run_until(t0() + secs(1) + ms(10)).await;
    let probes: Vec<_> = h.probe.probes.lock().unwrap().iter().map(|(_, at)| *at).collect();
    assert_eq!(probes, vec![t0() + secs(1)], "probed at once on registration");

    h.probe.set("http://e1.test", false);
    h.run_until(t0() + secs(20) + ms(10)).await;
    let ex = h.store.get_executor(&e.id).await.unwrap();
    assert_eq!(
        (ex.health_check_failures, ex.is_healthy),
        (2, true),
        "2 failures: still healthy"
    );
    h.run_until(t0() + secs(30) + ms(10)).await;
    let ex = h.store.get_executor(&e.id).await.unwrap();
    assert_eq!(
        (ex.health_check_failures, ex.is_healthy),
        (3, false),
        "3rd failure: unhealthy"
    );
    assert_eq!(ex.last_health_check, Some(t0() + secs(30)));

    h.probe.set("http://e1.test", true);
    h.run_until(t0() + secs(40) + ms(10)).await;
    assert!(
        !h.store.get_executor(&e.id).await.unwrap().is_healthy,
        "1 success: still unhealthy"
    );
    h.run_until(t0() + secs(50) + ms(10)).await;
    let ex = h.store.get_executor(&e.id).await.unwrap();
    assert!(ex.is_healthy, "2nd success: healthy again");
    assert_eq!(ex.health_check_failures, 0);
}

/// A probe that never answers.
struct Silent;

#[async_trait::async_trait]
impl HealthProbe for Silent {
    async fn probe(&self, _e: &Executor) -> ProbeResult {
        std::future::pending().await
    }
}

#[tokio::test(start_paused = true)]
async fn a_probe_that_times_out_is_a_failure() {
    let mut cfg = config();
    cfg.health_check_interval = std::time::Duration::from_secs(30);
    cfg.health_check_timeout = std::time::Duration::from_secs(10);
    let h = harness_with(cfg, |b| b.health_probe(std::sync::Arc::new(Silent))).await;
    let e = h.executor("e1").await;
    h.run_until(t0() + secs(11)).await;
    let ex = h.store.get_executor(&e.id).await.unwrap();
    assert!(ex.health_check_failures >= 1);
    assert_eq!(ex.last_health_check, Some(t0() + secs(10)));
}
