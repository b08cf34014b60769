//! What a list asks for and what it answers: pages, cursors, filters and
//! the history caps.

use crate::domain::*;
use chrono::{DateTime, Utc};

/// A page request: `page` counts from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// 1-based page number.
    pub page: u32,
    /// Rows per page.
    pub page_size: u32,
}

impl Page {
    /// Page `page` of `page_size` rows.
    pub fn new(page: u32, page_size: u32) -> Self {
        Self {
            page: page.max(1),
            page_size,
        }
    }

    /// Rows to skip.
    pub fn offset(&self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.page_size)
    }
}

impl Default for Page {
    fn default() -> Self {
        Self::new(1, 20)
    }
}

/// One page of rows and the total number of rows that match.
#[derive(Clone, Debug, PartialEq)]
pub struct Paged<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// All rows that match the filter.
    pub total: u64,
}

/// `total` is exact up to this many rows; beyond it a list answers this
/// number and says it is a lower bound (counting further costs a scan).
pub const TOTAL_CAP: u64 = 10_000;

/// A position in the execution list (newest `scheduled_time` first, ties by
/// id descending): the last row of a page. The next page starts after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutionCursor {
    /// `scheduled_time` of the last row.
    pub scheduled_time: DateTime<Utc>,
    /// Id of the last row.
    pub id: ExecutionId,
}

/// Where a list of executions starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListFrom {
    /// A page number (from 1): skips `(page - 1) × page_size` rows.
    Page(u32),
    /// Right after this row: any depth costs what the first page costs.
    After(ExecutionCursor),
}

/// One page of executions.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecutionPage {
    /// The rows, `logs` and `result` left out (`None`).
    pub items: Vec<Execution>,
    /// Rows matching the filter, at most [`TOTAL_CAP`].
    pub total: u64,
    /// More than [`TOTAL_CAP`] rows match.
    pub total_is_lower_bound: bool,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<ExecutionCursor>,
}

/// The most final executions a store keeps ([`Store::default_max_executions`](crate::Store::default_max_executions)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExecutionCap {
    /// What the store suggests: a cap for memory, none for a database.
    #[default]
    StoreDefault,
    /// No cap.
    Unlimited,
    /// At most this many; the oldest `scheduled_time` go first.
    AtMost(u64),
}

/// Task list filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Only this status; `None` means every status but `deleted`.
    pub status: Option<TaskStatus>,
    /// Name contains this substring (case-sensitive).
    pub name: Option<String>,
}

/// Executor list filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecutorFilter {
    /// Only this status.
    pub status: Option<ExecutorStatus>,
    /// Name contains this substring.
    pub name: Option<String>,
    /// Only healthy (or unhealthy) executors.
    pub healthy: Option<bool>,
}

/// Execution list filter (the time range is on `scheduled_time`, inclusive).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecutionFilter {
    /// Only this task.
    pub task_id: Option<TaskId>,
    /// Only this executor.
    pub executor_id: Option<ExecutorId>,
    /// Only this status.
    pub status: Option<ExecutionStatus>,
    /// `scheduled_time >= from`.
    pub from: Option<DateTime<Utc>>,
    /// `scheduled_time <= to`.
    pub to: Option<DateTime<Utc>>,
}
