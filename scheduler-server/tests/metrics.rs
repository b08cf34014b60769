//! `/metrics` as a Prometheus server scrapes it from a running server: every
//! family is named `chronoflow_*` and has a `# HELP` line, the build is
//! identified by `chronoflow_build_info`, and no `scheduler_*` series is left.

mod common;

use common::e2e::{self, TestServer, test_config};

async fn scrape(s: &TestServer) -> String {
    let r = s.client.get(format!("{}/metrics", s.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.text().await.unwrap()
}

/// The metric name of a sample line (`name{labels} value` or `name value`).
fn series_name(line: &str) -> &str {
    line.split(['{', ' ']).next().unwrap_or(line)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_family_is_chronoflow_with_help_and_build_info() {
    let s = TestServer::start(test_config(None)).await;
    // One dispatch finished by the executor's reply: fire lag, dispatch and
    // execution counters, request durations and the leader gauge all exist.
    e2e::synchronous_completion(&s).await;
    let text = scrape(&s).await;

    let version = env!("CARGO_PKG_VERSION");
    assert!(
        text.lines()
            .any(|l| l == format!("chronoflow_build_info{{version=\"{version}\"}} 1")),
        "no build_info for {version}:\n{text}"
    );
    assert!(text.contains("# HELP chronoflow_build_info "), "{text}");

    let typed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    for family in [
        "chronoflow_build_info",
        "chronoflow_leader",
        "chronoflow_dispatches_total",
        "chronoflow_fire_lag_seconds",
        "chronoflow_executions_finished_total",
        "chronoflow_http_request_duration_seconds",
    ] {
        assert!(typed.contains(&family), "{family} missing:\n{text}");
    }
    for family in &typed {
        assert!(
            family.starts_with("chronoflow_"),
            "{family} is not named for the product"
        );
        let help = format!("# HELP {family} ");
        let line = text.lines().find(|l| l.starts_with(&help));
        assert!(
            line.is_some_and(|l| l.len() > help.len()),
            "{family} has no help text:\n{text}"
        );
    }

    let samples = text.lines().filter(|l| !l.starts_with('#') && !l.is_empty());
    for line in samples {
        let name = series_name(line);
        assert!(!name.starts_with("scheduler_"), "old series left: {line}");
        assert!(
            name.starts_with("chronoflow_"),
            "series not named for the product: {line}"
        );
    }
    s.stop().await;
}
