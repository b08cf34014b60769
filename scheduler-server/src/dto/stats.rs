//! Statistics of a task: its windows and the daily trend.

use scheduler_core::{DailyStats, TaskStats, WindowStats};
use serde::Serialize;
use utoipa::ToSchema;

/// Figures of one window.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = WindowStats)]
pub struct WindowStatsDto {
    /// Executions in the window.
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
    /// `success / (success + failed + timeout)`; null when that is 0.
    pub success_rate: Option<f64>,
    /// `timeout / (success + failed + timeout)`; null when that is 0.
    pub timeout_rate: Option<f64>,
    /// Mean duration of finished executions, ms.
    pub avg_duration_ms: Option<f64>,
}

impl From<WindowStats> for WindowStatsDto {
    fn from(w: WindowStats) -> Self {
        Self {
            total: w.total,
            success: w.success,
            failed: w.failed,
            timeout: w.timeout,
            skipped: w.skipped,
            cancelled: w.cancelled,
            success_rate: w.success_rate,
            timeout_rate: w.timeout_rate,
            avg_duration_ms: w.avg_duration_ms,
        }
    }
}

/// One UTC day of the trend.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = DailyStats)]
pub struct DailyStatsDto {
    /// `YYYY-MM-DD`.
    #[schema(example = "2026-11-24")]
    pub date: String,
    /// Executions scheduled that day.
    pub total: u64,
    /// `success`.
    pub success: u64,
    /// `failed`.
    pub failed: u64,
    /// `timeout`.
    pub timeout: u64,
    /// `success / (success + failed + timeout)`; null when that is 0.
    pub success_rate: Option<f64>,
}

impl From<DailyStats> for DailyStatsDto {
    fn from(d: DailyStats) -> Self {
        Self {
            date: d.date.format("%Y-%m-%d").to_string(),
            total: d.total,
            success: d.success,
            failed: d.failed,
            timeout: d.timeout,
            success_rate: d.success_rate,
        }
    }
}

/// Statistics of a task (docs/history.md, "Statistics survive retention").
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = TaskStats)]
pub struct TaskStatsDto {
    /// Last 24 hours.
    #[serde(rename = "24h")]
    #[schema(rename = "24h")]
    pub last_24h: WindowStatsDto,
    /// Last 7 days.
    #[serde(rename = "7d")]
    #[schema(rename = "7d")]
    pub last_7d: WindowStatsDto,
    /// Last 90 days.
    #[serde(rename = "90d")]
    #[schema(rename = "90d")]
    pub last_90d: WindowStatsDto,
    /// `round(100 × (0.7 × success_rate + 0.3 × (1 − timeout_rate)))` over 7 days.
    pub health_score: Option<u32>,
    /// The last 30 UTC days, oldest first.
    pub daily: Vec<DailyStatsDto>,
}

impl From<TaskStats> for TaskStatsDto {
    fn from(s: TaskStats) -> Self {
        Self {
            last_24h: s.last_24h.into(),
            last_7d: s.last_7d.into(),
            last_90d: s.last_90d.into(),
            health_score: s.health_score,
            daily: s.daily.into_iter().map(Into::into).collect(),
        }
    }
}
