//! Per-task statistics (CONTRACT §2 "Statistics"), computed from the store's counts.

use crate::store::{DailyCounts, StatusCounts};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

/// Figures of one window (24h, 7d or 90d, by `scheduled_time`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WindowStats {
    /// Every execution.
    pub total: u64,
    /// `success`.
    pub success: u64,
    /// `failed`.
    pub failed: u64,
    /// `timeout`.
    pub timeout: u64,
    /// `skipped`.
    pub skipped: u64,
    /// `cancelled`.
    pub cancelled: u64,
    /// `success / (success + failed + timeout)`, null when that is 0.
    pub success_rate: Option<f64>,
    /// `timeout / (success + failed + timeout)`, null when that is 0.
    pub timeout_rate: Option<f64>,
    /// Mean `end_time - start_time` of finished executions with both, in ms.
    pub avg_duration_ms: Option<f64>,
}

impl WindowStats {
    /// Derives the rates from raw counts.
    pub fn from_counts(c: &StatusCounts) -> Self {
        let finished = c.success + c.failed + c.timeout;
        let rate = |n: u64| (finished > 0).then(|| n as f64 / finished as f64);
        Self {
            total: c.total,
            success: c.success,
            failed: c.failed,
            timeout: c.timeout,
            skipped: c.skipped,
            cancelled: c.cancelled,
            success_rate: rate(c.success),
            timeout_rate: rate(c.timeout),
            avg_duration_ms: (c.duration_count > 0).then(|| c.duration_ms_sum as f64 / c.duration_count as f64),
        }
    }

    /// `round(100 × (0.7 × success_rate + 0.3 × (1 − timeout_rate)))`, null
    /// without finished executions.
    pub fn health_score(&self) -> Option<u32> {
        let (s, t) = (self.success_rate?, self.timeout_rate?);
        Some((100.0 * (0.7 * s + 0.3 * (1.0 - t))).round() as u32)
    }
}

/// One UTC day of the 30-day trend.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DailyStats {
    /// The UTC date (`YYYY-MM-DD`).
    pub date: NaiveDate,
    /// Every execution scheduled that day.
    pub total: u64,
    /// `success`.
    pub success: u64,
    /// `failed`.
    pub failed: u64,
    /// `timeout`.
    pub timeout: u64,
    /// `success / (success + failed + timeout)`, null when that is 0.
    pub success_rate: Option<f64>,
}

/// Statistics of one task.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskStats {
    /// Last 24 hours.
    #[serde(rename = "24h")]
    pub last_24h: WindowStats,
    /// Last 7 days.
    #[serde(rename = "7d")]
    pub last_7d: WindowStats,
    /// Last 90 days.
    #[serde(rename = "90d")]
    pub last_90d: WindowStats,
    /// Health score over the 7-day window.
    pub health_score: Option<u32>,
    /// The last 30 UTC days, oldest first, days without executions included.
    pub daily: Vec<DailyStats>,
}

/// Number of days in the daily trend.
pub const TREND_DAYS: i64 = 30;

/// The windows' bounds relative to `now`: `(from, now)` for 24h, 7d, 90d.
pub(crate) fn window_starts(now: DateTime<Utc>) -> [DateTime<Utc>; 3] {
    [
        now - Duration::hours(24),
        now - Duration::days(7),
        now - Duration::days(90),
    ]
}

/// The first instant of the trend (midnight UTC, 29 days before today).
pub(crate) fn trend_start(now: DateTime<Utc>) -> DateTime<Utc> {
    let first = now.date_naive() - Duration::days(TREND_DAYS - 1);
    first.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// Fills the 30-day trend, one row per day, from the days the store returned.
pub(crate) fn daily_rows(now: DateTime<Utc>, days: &[DailyCounts]) -> Vec<DailyStats> {
    let first = trend_start(now).date_naive();
    (0..TREND_DAYS)
        .map(|i| {
            let date = first + Duration::days(i);
            let d = days.iter().find(|d| d.date == date);
            let (total, success, failed, timeout) =
                d.map_or((0, 0, 0, 0), |d| (d.total, d.success, d.failed, d.timeout));
            let finished = success + failed + timeout;
            DailyStats {
                date,
                total,
                success,
                failed,
                timeout,
                success_rate: (finished > 0).then(|| success as f64 / finished as f64),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_example_gives_66() {
        let c = StatusCounts {
            total: 6,
            success: 3,
            failed: 1,
            timeout: 1,
            cancelled: 1,
            ..StatusCounts::default()
        };
        let w = WindowStats::from_counts(&c);
        assert_eq!(w.success_rate, Some(0.6));
        assert_eq!(w.timeout_rate, Some(0.2));
        assert_eq!(w.health_score(), Some(66));
    }

    #[test]
    fn no_finished_execution_means_null_rates_and_score() {
        let c = StatusCounts {
            total: 2,
            skipped: 1,
            cancelled: 1,
            ..StatusCounts::default()
        };
        let w = WindowStats::from_counts(&c);
        assert_eq!((w.success_rate, w.timeout_rate, w.health_score()), (None, None, None));
        assert_eq!(w.avg_duration_ms, None);
    }

    #[test]
    fn trend_has_thirty_days_ending_today() {
        let now = "2026-11-24T10:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let rows = daily_rows(now, &[]);
        assert_eq!(rows.len(), 30);
        assert_eq!(rows[0].date.to_string(), "2026-10-26");
        assert_eq!(rows[29].date.to_string(), "2026-11-24");
    }
}
