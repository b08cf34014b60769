//! Ordered indexes over row slots: [`Sorted`] sets, and the time indexes
//! made of them.
//!
//! A time index entry is `(nanoseconds, slot)`: 16 bytes, against 40 for a
//! `(DateTime, ExecutionId)` pair. Slots do not order rows the way the store
//! must (ties on the time go by id), so [`ordered`] sorts each run of equal
//! times by id as it reads them; a run is the executions of one instant,
//! rarely more than the number of tasks.

use super::rows::{Rows, Slot};
use std::cmp::Ordering;
use std::collections::VecDeque;
use std::iter::Peekable;
use std::ops::{Bound, RangeBounds};

/// A time index entry: a row's time and its slot.
pub(super) type Entry = (i64, Slot);

/// Rows by one of their times.
pub(super) type TimeIndex = Sorted<Entry>;

/// Entries per chunk at most; a fuller chunk is split in two.
const CHUNK: usize = 256;

/// An ordered set: a sorted sequence of sorted chunks of at most [`CHUNK`]
/// entries.
///
/// The store's keys almost always arrive at the end (a fire's times are the
/// latest yet, and so are the time-ordered ids the engine makes) and leave
/// from the front (retention) or near the end (executions finish soon after
/// they start), which a chunk does in constant time: an
/// insert at the end is a comparison and a push, where a B-tree searched and
/// compared its way down from the root. Anywhere else an insert or a removal
/// costs a binary search over the chunks and a shift within one chunk, so no
/// order of operations is slower than a B-tree by more than a small factor.
#[derive(Debug)]
pub(super) struct Sorted<E> {
    /// Never empty chunks; every entry of a chunk is below every entry of
    /// the next one.
    chunks: VecDeque<VecDeque<E>>,
}

impl<E> Default for Sorted<E> {
    fn default() -> Self {
        Self {
            chunks: VecDeque::new(),
        }
    }
}

impl<E: Copy + Ord> Sorted<E> {
    pub(super) fn new() -> Self {
        Self::default()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// The chunk where the entry `cmp` looks for is or would go: the last
    /// one whose first entry is not above it, `None` below them all, for a
    /// `cmp` that orders entries as they are ordered. The last chunk is
    /// tried first: most entries looked for are among the latest.
    fn chunk_by(&self, cmp: impl Fn(&E) -> Ordering) -> Option<usize> {
        let not_above = |c: &VecDeque<E>| c.front().is_some_and(|f| cmp(f).is_le());
        let last = self.chunks.len().checked_sub(1)?;
        if self.chunks.get(last).is_some_and(not_above) {
            return Some(last);
        }
        self.chunks.partition_point(not_above).checked_sub(1)
    }

    /// Adds `e`; false when it was there already.
    pub(super) fn insert(&mut self, e: E) -> bool {
        match self.chunks.back_mut() {
            // The usual case: after every entry.
            Some(last) if last.back().is_some_and(|b| *b < e) => {
                if last.len() < CHUNK {
                    last.push_back(e);
                } else {
                    self.chunks.push_back(VecDeque::from([e]));
                }
            }
            None => self.chunks.push_back(VecDeque::from([e])),
            Some(_) => {
                // Below every chunk: the first takes it.
                let i = self.chunk_by(|x| x.cmp(&e)).unwrap_or(0);
                let chunk = &mut self.chunks[i];
                let Err(at) = chunk.binary_search(&e) else {
                    return false;
                };
                chunk.insert(at, e);
                if chunk.len() > CHUNK {
                    let upper = chunk.split_off(CHUNK / 2);
                    self.chunks.insert(i + 1, upper);
                }
            }
        }
        true
    }

    /// Takes `e` out; false when it was not there.
    pub(super) fn remove(&mut self, e: &E) -> bool {
        let Some(i) = self.chunk_by(|x| x.cmp(e)) else {
            return false;
        };
        let chunk = &mut self.chunks[i];
        let Ok(at) = chunk.binary_search(e) else {
            return false;
        };
        chunk.remove(at);
        if chunk.is_empty() {
            self.chunks.remove(i);
        }
        true
    }

    /// The entries within `range`, in order (reversible).
    pub(super) fn range<R: RangeBounds<E>>(&self, range: R) -> impl DoubleEndedIterator<Item = &E> + '_ {
        let (start, end) = (range.start_bound().cloned(), range.end_bound().cloned());
        let below = move |e: &E| match start {
            Bound::Included(s) => *e < s,
            Bound::Excluded(s) => *e <= s,
            Bound::Unbounded => false,
        };
        let within_end = move |e: &E| match end {
            Bound::Included(s) => *e <= s,
            Bound::Excluded(s) => *e < s,
            Bound::Unbounded => true,
        };
        // Chunks are never empty.
        let first = self.chunks.partition_point(|c| c.back().is_some_and(&below));
        let end = self.chunks.partition_point(|c| c.front().is_some_and(&within_end));
        self.chunks.range(first..end.max(first)).flat_map(move |c| {
            let (from, to) = (c.partition_point(&below), c.partition_point(&within_end));
            c.range(from..to.max(from))
        })
    }

    /// The greatest entry.
    pub(super) fn last(&self) -> Option<&E> {
        self.chunks.back().and_then(VecDeque::back)
    }

    /// Every entry, in order (reversible).
    pub(super) fn iter(&self) -> impl DoubleEndedIterator<Item = &E> + '_ {
        self.chunks.iter().flatten()
    }

    /// The entry `cmp` finds equal, for a `cmp` that orders entries as
    /// they are ordered (a lookup by part of the entry).
    pub(super) fn find_by(&self, cmp: impl Fn(&E) -> Ordering) -> Option<&E> {
        let chunk = self.chunks.get(self.chunk_by(&cmp)?)?;
        chunk.binary_search_by(cmp).ok().and_then(|i| chunk.get(i))
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[derive(Clone, Debug)]
    enum Op {
        Insert(Entry),
        Remove(Entry),
        /// Appends `n` entries after the last one, as fires do.
        Append(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        // Few distinct times, so runs of equal times and duplicates occur.
        let entry = (0i64..64, 0u32..2048);
        prop_oneof![
            3 => entry.clone().prop_map(Op::Insert),
            3 => entry.prop_map(Op::Remove),
            1 => (1u16..700).prop_map(Op::Append),
        ]
    }

    fn bound(b: u8, e: Entry) -> Bound<Entry> {
        match b % 3 {
            0 => Bound::Included(e),
            1 => Bound::Excluded(e),
            _ => Bound::Unbounded,
        }
    }

    proptest! {
        /// The chunked index answers every insert, removal and range as an
        /// ordered set does, across chunk splits and emptied chunks.
        #[test]
        fn behaves_as_an_ordered_set(
            ops in proptest::collection::vec(op(), 1..400),
            ranges in proptest::collection::vec((any::<u8>(), 0i64..80, any::<u32>(), any::<u8>(), 0i64..80, any::<u32>()), 1..8),
        ) {
            let (mut index, mut set) = (TimeIndex::new(), BTreeSet::new());
            for op in ops {
                match op {
                    Op::Insert(e) => prop_assert_eq!(index.insert(e), set.insert(e)),
                    Op::Remove(e) => prop_assert_eq!(index.remove(&e), set.remove(&e)),
                    Op::Append(n) => {
                        let (t, s) = set.last().copied().unwrap_or((0, 0));
                        for k in 0..u32::from(n) {
                            let e = (t + i64::from(k % 3), s.wrapping_add(k + 1));
                            prop_assert_eq!(index.insert(e), set.insert(e));
                        }
                    }
                }
                prop_assert_eq!(index.is_empty(), set.is_empty());
                prop_assert_eq!(index.last(), set.last());
            }
            prop_assert!(index.iter().copied().eq(set.iter().copied()));
            prop_assert!(index.iter().rev().copied().eq(set.iter().rev().copied()));
            prop_assert!(index.chunks.iter().all(|c| !c.is_empty() && c.len() <= CHUNK));
            for t in 0..70 {
                for s in [0, 1, 5, 700, 2047] {
                    let e = (t, s);
                    prop_assert_eq!(index.find_by(|x| x.cmp(&e)), set.get(&e));
                }
            }
            for (b1, t1, s1, b2, t2, s2) in ranges {
                let r = (bound(b1, (t1, s1 % 2100)), bound(b2, (t2, s2 % 2100)));
                if let (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) = r {
                    // BTreeSet panics on a reversed or empty excluded range.
                    if a > b || (a == b && !matches!(r, (Bound::Included(_), Bound::Included(_)))) {
                        prop_assert_eq!(index.range(r).count(), 0);
                        continue;
                    }
                }
                prop_assert!(index.range(r).copied().eq(set.range(r).copied()));
                prop_assert!(index.range(r).rev().copied().eq(set.range(r).rev().copied()));
            }
        }
    }
}
