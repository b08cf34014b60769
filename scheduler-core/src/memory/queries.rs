//! Reads and deletes over many executions: the list with its capped
//! total, and the retention purges. Each walks one time index.

use super::indexes::{TimeIndex, ordered};
use super::rows::{Slot, nanos_clamped};
use super::state::State;
use crate::domain::*;
use crate::store::*;
use chrono::{DateTime, Utc};

/// One page of executions: `matching` counted up to [`TOTAL_CAP`] (plus
/// one, to know it is exceeded), `page_rows` (already past a cursor) skipped
/// by `skip` and decoded without logs and result, one row more read to know
/// whether a next page exists.
fn execution_page(
    s: &State,
    matching: impl Iterator<Item = Slot>,
    page_rows: impl Iterator<Item = Slot>,
    skip: u64,
    page_size: u32,
) -> ExecutionPage {
    let total = matching.take(TOTAL_CAP as usize + 1).count() as u64;
    let mut rows = page_rows.skip(usize::try_from(skip).unwrap_or(usize::MAX));
    let items: Vec<Execution> = rows
        .by_ref()
        .take(page_size as usize)
        .map(|slot| s.list_item(slot))
        .collect();
    let next = match rows.next() {
        Some(_) => items.last().map(|e| ExecutionCursor {
            scheduled_time: e.scheduled_time,
            id: e.id.clone(),
        }),
        None => None,
    };
    ExecutionPage {
        items,
        total: total.min(TOTAL_CAP),
        total_is_lower_bound: total > TOTAL_CAP,
        next,
    }
}

impl State {
    /// `Store::list_executions`: newest first, walking the most selective index.
    pub(super) fn list_executions(&self, filter: &ExecutionFilter, from: &ListFrom, page_size: u32) -> ExecutionPage {
        let empty = ExecutionPage {
            items: vec![],
            total: 0,
            total_is_lower_bound: false,
            next: None,
        };
        // An id no execution ever named matches nothing.
        let task = match &filter.task_id {
            Some(t) => match self.task_slots.get(t) {
                Some(slot) => Some(slot),
                None => return empty,
            },
            None => None,
        };
        let executor = match &filter.executor_id {
            Some(x) => match self.executor_slots.get(x) {
                Some(slot) => Some(slot),
                None => return empty,
            },
            None => None,
        };
        let no_index = TimeIndex::new();
        let index = match (executor, task) {
            (Some(x), _) => self.by_executor.get(&x).unwrap_or(&no_index),
            (None, Some(t)) => &self.per_task[t as usize].executions,
            (None, None) => &self.by_time,
        };
        let lo = filter.from.map_or(i64::MIN, nanos_clamped);
        let hi = filter.to.map_or(i64::MAX, nanos_clamped);
        if hi < lo {
            return empty;
        }
        let keep = |slot: &Slot| {
            let r = self.rows.get(*slot);
            task.is_none_or(|t| r.task == t)
                && executor.is_none_or(|x| r.executor == x)
                && filter.status.is_none_or(|st| r.status == st)
        };
        let (skip, after) = match from {
            ListFrom::Page(p) => (u64::from(p.saturating_sub(1)) * u64::from(page_size), None),
            ListFrom::After(c) => (0, Some((nanos_clamped(c.scheduled_time), &c.id))),
        };
        let matching = index
            .range((lo, 0)..=(hi, Slot::MAX))
            .rev()
            .map(|(_, s)| *s)
            .filter(keep);
        let page_hi = after.map_or(hi, |(t, _)| t.min(hi));
        if page_hi < lo {
            return execution_page(self, matching, std::iter::empty(), skip, page_size);
        }
        let page = ordered(&self.rows, index.range((lo, 0)..=(page_hi, Slot::MAX)).rev(), true)
            .filter(|slot| {
                after.is_none_or(|(t, id)| {
                    let r = self.rows.get(*slot);
                    r.scheduled < t || self.rows.cmp_id(*slot, id).is_lt()
                })
            })
            .filter(keep);
        execution_page(self, matching, page, skip, page_size)
    }

    /// `Store::purge_executions`: up to `limit` final executions scheduled
    /// before `before`, oldest first.
    pub(super) fn purge_before(&mut self, before: DateTime<Utc>, limit: u32) -> u64 {
        let before = nanos_clamped(before);
        let doomed: Vec<Slot> = ordered(&self.rows, self.by_time.range(..(before, 0)), false)
            .filter(|s| self.rows.get(*s).status.is_final())
            .take(limit as usize)
            .collect();
        for slot in &doomed {
            self.remove_execution(*slot);
        }
        doomed.len() as u64
    }

    /// `Store::purge_excess_executions`: the oldest final executions beyond
    /// `keep`, at most `limit`.
    pub(super) fn purge_excess(&mut self, keep: u64, limit: u32) -> u64 {
        let finals = (self.rows.len() as u64).saturating_sub(self.pending + self.running);
        let excess = finals.saturating_sub(keep).min(u64::from(limit));
        let doomed: Vec<Slot> = ordered(&self.rows, self.by_time.iter(), false)
            .filter(|s| self.rows.get(*s).status.is_final())
            .take(excess as usize)
            .collect();
        for slot in &doomed {
            self.remove_execution(*slot);
        }
        doomed.len() as u64
    }
}
