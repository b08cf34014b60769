//! Time-ordered secondary indexes over row slots.
//!
//! An index entry is `(nanoseconds, slot)`: 16 bytes, against 40 for a
//! `(DateTime, ExecutionId)` pair. Slots do not order rows the way the store
//! must (ties on the time go by id), so [`ordered`] sorts each run of equal
//! times by id as it reads them; a run is the executions of one instant,
//! rarely more than the number of tasks.

use super::rows::{Rows, Slot};
use std::collections::BTreeSet;
use std::iter::Peekable;

/// Rows by one of their times.
pub(super) type TimeIndex = BTreeSet<(i64, Slot)>;

/// Entries of a time index in the store's order: by time, ties by id, both
/// ascending when `entries` ascends and descending when it descends.
pub(super) fn ordered<'a, I>(rows: &'a Rows, entries: I, descending: bool) -> Ordered<'a, I::IntoIter>
where
    I: IntoIterator<Item = &'a (i64, Slot)>,
{
    Ordered {
        rows,
        entries: entries.into_iter().peekable(),
        run: Vec::new(),
        descending,
    }
}

/// See [`ordered`].
pub(super) struct Ordered<'a, I: Iterator<Item = &'a (i64, Slot)>> {
    rows: &'a Rows,
    entries: Peekable<I>,
    /// The rest of the current run, next last.
    run: Vec<Slot>,
    descending: bool,
}

impl<'a, I: Iterator<Item = &'a (i64, Slot)>> Iterator for Ordered<'a, I> {
    type Item = Slot;

    fn next(&mut self) -> Option<Slot> {
        if let Some(s) = self.run.pop() {
            return Some(s);
        }
        let &(t, first) = self.entries.next()?;
        if self.entries.peek().is_none_or(|(t2, _)| *t2 != t) {
            return Some(first);
        }
        self.run.push(first);
        while let Some(&(_, s)) = self.entries.next_if(|(t2, _)| *t2 == t) {
            self.run.push(s);
        }
        // Popped from the end: sort the opposite way of the walk.
        let rows = self.rows;
        if self.descending {
            self.run.sort_unstable_by(|a, b| rows.cmp_ids(*a, *b));
        } else {
            self.run.sort_unstable_by(|a, b| rows.cmp_ids(*b, *a));
        }
        self.run.pop()
    }
}
