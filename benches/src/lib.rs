//! Shared measurement helpers for the benchmarks in this folder.

use std::time::Duration;

/// Process CPU time (user + system) so far, from `/proc/self/stat`.
pub fn cpu_time() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command name (which may contain spaces) start after ')'.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the full line, 12 and 13 here.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10)
}

/// Resident set size in MiB, from `/proc/self/status`.
pub fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Percentile (0..=100) of sorted samples, nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One line of the fire-lag report.
pub fn fire_lag_line(name: &str, n: usize, mut lags_ms: Vec<f64>, expected: u64, seen: u64, cpu: Duration) -> String {
    lags_ms.sort_by(f64::total_cmp);
    format!(
        "fire_lag impl={name} n={n} p50_ms={:.3} p99_ms={:.3} max_ms={:.3} expected={expected} seen={seen} cpu_s={:.2}",
        percentile(&lags_ms, 50.0),
        percentile(&lags_ms, 99.0),
        lags_ms.last().copied().unwrap_or(f64::NAN),
        cpu.as_secs_f64()
    )
}

/// A MariaDB database of a benchmark run's own, created with the `mariadb`
/// client and dropped when the run ends. The server is
/// `FIRE_LAG_MYSQL_URL` (default `mysql://root@127.0.0.1:3306`).
pub struct BenchDb {
    server: String,
    name: String,
}

impl BenchDb {
    /// Creates the database.
    pub fn create() -> Self {
        let server = std::env::var("FIRE_LAG_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned());
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let name = format!("bench_{}_{stamp}", std::process::id());
        Self::sql(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"));
        Self { server, name }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("{}/{}", self.server.trim_end_matches('/'), self.name)
    }

    /// Runs statements in this database.
    pub fn run(&self, statements: &str) {
        let status = std::process::Command::new("mariadb")
            .args(["-h127.0.0.1", "-P3306", "-uroot", "-D", &self.name, "-e", statements])
            .status()
            .expect("the mariadb client runs");
        assert!(status.success(), "{statements} failed");
    }

    /// Runs a query in this database and answers its rows, tab-separated.
    pub fn query(&self, query: &str) -> String {
        let out = std::process::Command::new("mariadb")
            .args([
                "-h127.0.0.1",
                "-P3306",
                "-uroot",
                "-N",
                "-B",
                "-D",
                &self.name,
                "-e",
                query,
            ])
            .output()
            .expect("the mariadb client runs");
        assert!(out.status.success(), "{query} failed");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn sql(statement: &str) {
        let status = std::process::Command::new("mariadb")
            .args(["-h127.0.0.1", "-P3306", "-uroot", "-e", statement])
            .status()
            .expect("the mariadb client runs");
        assert!(status.success(), "{statement} failed");
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        Self::sql(&format!("DROP DATABASE IF EXISTS `{}`", self.name));
    }
}
