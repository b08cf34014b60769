//! Per-task statistics (docs/history.md, "Statistics"), computed from the
//! store's hourly counters: windows are whole UTC hours, so they survive the
//! purge of the executions they count.

use crate::store::{HourlyCounts, StatusCounts};
use chrono::{DateTime, Duration, DurationRound, NaiveDate, Utc};
use serde::Serialize;

/// Figures of one window (24h, 7d or 90d of whole UTC hours of `scheduled_time`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct WindowStats {
    /// Every final execution.
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct DailyStats {
    /// The UTC date (`YYYY-MM-DD`).
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2026-11-24"))]
    pub date: NaiveDate,
    /// Every final execution scheduled that day.
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
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

/// Hours in the windows 24h, 7d and 90d (the current hour included).
pub const WINDOW_HOURS: [i64; 3] = [24, 24 * 7, 24 * 90];

/// The first instant of the hour `now` is in.
pub fn hour_of(now: DateTime<Utc>) -> DateTime<Utc> {
    now.duration_trunc(Duration::hours(1)).unwrap_or(now)
}

/// The hours the statistics read at `now`: `(first, current)`.
pub(crate) fn hours_read(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let current = hour_of(now);
    (current - Duration::hours(WINDOW_HOURS[2] - 1), current)
}

/// The statistics at `now` from the task's hourly counters.
pub(crate) fn from_hours(now: DateTime<Utc>, hours: &[HourlyCounts]) -> TaskStats {
    let current = hour_of(now);
    let window = |n: i64| {
        let first = current - Duration::hours(n - 1);
        let mut sum = StatusCounts::default();
        for h in hours.iter().filter(|h| h.hour >= first && h.hour <= current) {
            sum.merge(&h.counts);
        }
        WindowStats::from_counts(&sum)
    };
    let last_7d = window(WINDOW_HOURS[1]);
    TaskStats {
        last_24h: window(WINDOW_HOURS[0]),
        health_score: last_7d.health_score(),
        last_7d,
        last_90d: window(WINDOW_HOURS[2]),
        daily: daily_rows(now, hours),
    }
}

/// The 30-day trend, one row per UTC day (today and the 29 before), oldest
/// first, days without executions included.
fn daily_rows(now: DateTime<Utc>, hours: &[HourlyCounts]) -> Vec<DailyStats> {
    let first = now.date_naive() - Duration::days(TREND_DAYS - 1);
    (0..TREND_DAYS)
        .map(|i| {
            let date = first + Duration::days(i);
            let mut c = StatusCounts::default();
            for h in hours.iter().filter(|h| h.hour.date_naive() == date) {
                c.merge(&h.counts);
            }
            let finished = c.success + c.failed + c.timeout;
            DailyStats {
                date,
                total: c.total,
                success: c.success,
                failed: c.failed,
                timeout: c.timeout,
                success_rate: (finished > 0).then(|| c.success as f64 / finished as f64),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_example_gives_66() {
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

    #[test]
    fn windows_are_whole_hours_ending_with_the_current_one() {
        let now = "2026-11-24T10:59:59.999Z".parse::<DateTime<Utc>>().unwrap();
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let one = |hour: &str, success: u64| HourlyCounts {
            hour: at(hour),
            counts: StatusCounts {
                total: success,
                success,
                ..StatusCounts::default()
            },
        };
        let hours = [
            one("2026-08-26T11:00:00Z", 1000), // 2 160 hours back: in 90d
            one("2026-08-26T10:00:00Z", 5000), // one hour more: outside
            one("2026-11-17T11:00:00Z", 100),  // 168 hours back: in 7d
            one("2026-11-17T10:00:00Z", 500),  // outside 7d
            one("2026-11-23T11:00:00Z", 10),   // 24 hours back: in 24h
            one("2026-11-23T10:00:00Z", 50),   // outside 24h
            one("2026-11-24T10:00:00Z", 1),    // the current hour
        ];
        let s = from_hours(now, &hours);
        assert_eq!(s.last_24h.success, 11);
        assert_eq!(s.last_7d.success, 161);
        assert_eq!(s.last_90d.success, 1661);
        assert_eq!(s.daily[29].total, 1);
        assert_eq!(s.daily[28].total, 60);
        assert_eq!(
            hours_read(now),
            (at("2026-08-26T11:00:00Z"), at("2026-11-24T10:00:00Z"))
        );
    }
}
