//! Run with: cargo bench -p scheduler-benches --bench fire_lag
//!
//! N jobs that fire every second, handlers that return at once, for
//! FIRE_LAG_SECS seconds (default 20) per configuration. Fire lag is the time
//! a handler starts minus its scheduled instant. Prints one line per
//! implementation and N:
//!
//! `fire_lag impl=<name> store=<store> n=<N> p50_ms=<x> p99_ms=<y> max_ms=<z> expected=<e> seen=<s> cpu_s=<c>`
//!
//! `impl=chronoflow` is this project's engine with in-process handlers, on
//! the memory store (`store=memory`) or, with FIRE_LAG_STORE=mysql, on a
//! MariaDB database of its own (created and dropped by the run, at
//! FIRE_LAG_MYSQL_URL, default `mysql://root@127.0.0.1:3306`);
//! FIRE_LAG_STORE=memory,mysql runs both. `cpu_s` is this process's CPU only
//! (MariaDB's own is not counted); `impl=sleep_until` is the baseline of one tokio task per job
//! sleeping until each whole second. With `--features peers`, the same
//! workload also runs on `tokio-cron-scheduler` and `apalis-cron` (current
//! crates.io releases). Set FIRE_LAG_N=1000,10000 to choose N and
//! FIRE_LAG_IMPLS=sleep_until,scheduler,... to choose implementations.
//!
//! Neither peer hands the job its scheduled instant (apalis gives it in whole
//! seconds, tokio-cron-scheduler not at all), and every job here fires at
//! each whole second, so a peer's fire is attributed to the whole second at
//! or before its start: its lag is measured within that second. A fire later
//! than a whole second would be counted as the next instant's, and the
//! instant it belonged to as dropped.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

// glibc's allocator spends a third of the engine's time consolidating free
// lists under this load; a production binary picks its allocator, and so
// does the benchmark (for every implementation alike).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use scheduler_benches::{BenchDb, cpu_time, fire_lag_line};
use scheduler_core::{NewTask, Scheduler, SchedulerConfig};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

#[derive(Clone, Copy)]
struct Window {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

impl Window {
    /// Starts at the second after next (time to settle), lasts `secs` seconds.
    fn after_setup(secs: i64) -> Self {
        let now = Utc::now();
        let from = now.duration_trunc(TimeDelta::seconds(1)).unwrap_or(now) + TimeDelta::seconds(2);
        Self {
            from,
            to: from + TimeDelta::seconds(secs - 1),
        }
    }

    fn contains(&self, t: DateTime<Utc>) -> bool {
        t >= self.from && t <= self.to
    }

    async fn wait_start(&self) {
        sleep_until(self.from - TimeDelta::milliseconds(5)).await;
    }

    async fn wait_end(&self) {
        sleep_until(self.to + TimeDelta::milliseconds(900)).await;
    }
}

async fn sleep_until(t: DateTime<Utc>) {
    if let Ok(d) = (t - Utc::now()).to_std() {
        tokio::time::sleep(d).await;
    }
}

/// Where every job writes the lag of each of its fires: one slot per job and
/// whole second of the window, written without a lock, so recording adds no
/// contention between worker threads to what is measured (a shared
/// `Mutex<Vec>` did, for every implementation alike). A slot holds the lag
/// in microseconds plus one; 0 is "not fired".
struct Recorder {
    /// Set once the implementation is set up (see [`Recorder::open`]).
    window: OnceLock<Window>,
    secs: usize,
    slots: Vec<AtomicU64>,
    /// Fires recorded twice for one job and second.
    extra: AtomicU64,
}

type Samples = Arc<Recorder>;

impl Recorder {
    fn new(n: usize, secs: i64) -> Samples {
        let secs = secs as usize;
        Arc::new(Self {
            window: OnceLock::new(),
            secs,
            slots: (0..n * secs).map(|_| AtomicU64::new(0)).collect(),
            extra: AtomicU64::new(0),
        })
    }

    /// Opens the measured window once setup is done.
    fn open(&self) -> Window {
        *self.window.get_or_init(|| Window::after_setup(self.secs as i64))
    }

    /// Records job `i`'s fire for `instant`, `lag_ms` late.
    fn record(&self, i: usize, instant: DateTime<Utc>, lag_ms: f64) {
        let Some(window) = self.window.get().filter(|w| w.contains(instant)) else {
            return;
        };
        let k = (instant - window.from).num_seconds() as usize;
        let micros = (lag_ms * 1000.0).max(0.0) as u64 + 1;
        if let Some(slot) = self.slots.get(i * self.secs + k)
            && slot.swap(micros, Ordering::Relaxed) != 0
        {
            self.extra.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Lags of every recorded fire in the window, and how many fires were seen.
    fn lags(&self) -> (Vec<f64>, u64) {
        let lags: Vec<f64> = self
            .slots
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .filter(|&v| v != 0)
            .map(|v| (v - 1) as f64 / 1000.0)
            .collect();
        let seen = lags.len() as u64 + self.extra.load(Ordering::Relaxed);
        (lags, seen)
    }

    fn line(&self, name: &str, n: usize, cpu: Duration) -> String {
        let (lags, seen) = self.lags();
        fire_lag_line(name, n, lags, (self.secs * n) as u64, seen, cpu)
    }
}

fn lag_ms(scheduled: DateTime<Utc>) -> f64 {
    (Utc::now() - scheduled).num_microseconds().unwrap_or(0) as f64 / 1000.0
}

async fn run_scheduler(n: usize, secs: i64, store_kind: &str) -> String {
    let samples = Recorder::new(n, secs);
    let mut db = None;
    let mut builder = Scheduler::builder().config(SchedulerConfig {
        max_workers: 64,
        ..SchedulerConfig::default()
    });
    if store_kind == "mysql" {
        let d = BenchDb::create();
        let options = scheduler_mysql::MysqlStoreOptions {
            max_connections: 16,
            ..Default::default()
        };
        let store = scheduler_mysql::MysqlStore::connect_with(&d.url(), options)
            .await
            .expect("connect to MariaDB");
        builder = builder.store(Arc::new(store));
        db = Some(d);
    }
    for i in 0..n {
        let s = samples.clone();
        builder = builder.handler(format!("job-{i}"), move |ctx| {
            s.record(i, ctx.scheduled_time, lag_ms(ctx.scheduled_time));
            async { Ok::<_, String>(serde_json::Value::Null) }
        });
    }
    let scheduler = builder.build();
    scheduler.start().await.expect("start");
    for i in 0..n {
        scheduler
            .add_task(NewTask::new(format!("job-{i}"), "* * * * * *").max_retry(0))
            .await
            .expect("add task");
    }
    let window = samples.open();
    window.wait_start().await;
    let cpu0 = cpu_time();
    window.wait_end().await;
    let cpu = cpu_time() - cpu0;
    scheduler.shutdown().await;
    drop(scheduler);
    drop(db);
    samples.line(&format!("chronoflow store={store_kind}"), n, cpu)
}

async fn run_sleep_until(n: usize, secs: i64) -> String {
    let samples = Recorder::new(n, secs);
    let window = samples.open();
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        let s = samples.clone();
        let end = window.to;
        handles.push(tokio::spawn(async move {
            loop {
                let now = Utc::now();
                let next = now.duration_trunc(TimeDelta::seconds(1)).unwrap_or(now) + TimeDelta::seconds(1);
                if next > end {
                    return;
                }
                sleep_until(next).await;
                s.record(i, next, lag_ms(next));
            }
        }));
    }
    window.wait_start().await;
    let cpu0 = cpu_time();
    window.wait_end().await;
    let cpu = cpu_time() - cpu0;
    for h in handles {
        h.abort();
    }
    samples.line("sleep_until", n, cpu)
}

#[cfg(feature = "peers")]
mod peers {
    use super::*;

    /// The whole second at or before now, and the lag from it.
    fn attribute() -> (DateTime<Utc>, f64) {
        let now = Utc::now();
        let second = now.duration_trunc(TimeDelta::seconds(1)).unwrap_or(now);
        (second, (now - second).num_microseconds().unwrap_or(0) as f64 / 1000.0)
    }

    pub async fn tokio_cron_scheduler(n: usize, secs: i64) -> String {
        use tokio_cron_scheduler::{Job, JobScheduler};
        let samples = Recorder::new(n, secs);
        let sched = JobScheduler::new().await.expect("scheduler");
        for i in 0..n {
            let s = samples.clone();
            let job = Job::new_async("* * * * * *", move |_id, _l| {
                let (second, lag) = attribute();
                s.record(i, second, lag);
                Box::pin(async {})
            })
            .expect("job");
            sched.add(job).await.expect("add");
        }
        sched.start().await.expect("start");
        let window = samples.open();
        window.wait_start().await;
        let cpu0 = cpu_time();
        window.wait_end().await;
        let cpu = cpu_time() - cpu0;
        let mut sched = sched;
        let _ = sched.shutdown().await;
        samples.line("tokio-cron-scheduler", n, cpu)
    }

    pub async fn apalis_cron(n: usize, secs: i64) -> String {
        use apalis_core::worker::builder::WorkerBuilder;
        use apalis_cron::{CronScheduler, Tick};
        use std::str::FromStr;
        let samples = Recorder::new(n, secs);
        let mut workers = Vec::with_capacity(n);
        for i in 0..n {
            let s = samples.clone();
            let schedule = cron::Schedule::from_str("* * * * * *").expect("schedule");
            let worker = WorkerBuilder::new(format!("job-{i}"))
                .backend(CronScheduler::new(schedule))
                .build(move |tick: Tick| {
                    let s = s.clone();
                    async move {
                        let at = DateTime::from_timestamp(tick.get_timestamp() as i64, 0).unwrap_or_default();
                        s.record(i, at, lag_ms(at));
                    }
                });
            workers.push(tokio::spawn(async move {
                let _ = worker.run().await;
            }));
        }
        let window = samples.open();
        window.wait_start().await;
        let cpu0 = cpu_time();
        window.wait_end().await;
        let cpu = cpu_time() - cpu0;
        for w in workers {
            w.abort();
        }
        samples.line("apalis-cron", n, cpu)
    }
}

fn main() {
    let secs: i64 = std::env::var("FIRE_LAG_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let ns: Vec<usize> = std::env::var("FIRE_LAG_N")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000]);
    let default_impls = if cfg!(feature = "peers") {
        "sleep_until,chronoflow,tokio-cron-scheduler,apalis-cron"
    } else {
        "sleep_until,chronoflow"
    };
    let stores: Vec<String> = std::env::var("FIRE_LAG_STORE")
        .unwrap_or_else(|_| "memory".to_owned())
        .split(',')
        .map(|s| s.trim().to_owned())
        .collect();
    let impls: Vec<String> = std::env::var("FIRE_LAG_IMPLS")
        .unwrap_or_else(|_| default_impls.to_owned())
        .split(',')
        .map(|s| s.trim().to_owned())
        .collect();
    let runs: Vec<(String, String)> = impls
        .iter()
        .flat_map(|i| {
            if i == "chronoflow" {
                stores.iter().map(|s| (i.clone(), s.clone())).collect()
            } else {
                vec![(i.clone(), String::new())]
            }
        })
        .collect();
    for n in ns {
        for (which, store) in &runs {
            // A fresh runtime per run, so one run's leftovers cannot slow the next.
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let line = rt.block_on(async {
                match which.as_str() {
                    "chronoflow" => run_scheduler(n, secs, store).await,
                    "sleep_until" => run_sleep_until(n, secs).await,
                    #[cfg(feature = "peers")]
                    "tokio-cron-scheduler" => peers::tokio_cron_scheduler(n, secs).await,
                    #[cfg(feature = "peers")]
                    "apalis-cron" => peers::apalis_cron(n, secs).await,
                    other => format!("fire_lag impl={other} unknown (peers need --features peers)"),
                }
            });
            println!("{line}");
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }
}
