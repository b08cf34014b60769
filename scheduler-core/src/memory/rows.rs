//! Compact execution rows: the memory store keeps each execution as a
//! fixed-size [`Row`] in a slab, not as an [`Execution`].
//!
//! A row refers to its task and executor by a `u32` slot of an
//! [`Interner`]; holds a UUID id and a hex callback token as 16 bytes each
//! (other spellings, kept losslessly, go to side tables); holds times as
//! `i64` nanoseconds; shares its parameters with the task's previous
//! execution when they are equal; and boxes the rare fields (result, logs)
//! only when present. Decoding gives back the exact [`Execution`] stored.

use super::indexes::Sorted;
use crate::domain::*;
use crate::store::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap as HashMap;
use std::cmp::Ordering;
use std::hash::Hash;
use std::sync::Arc;

/// Index of a row in the slab, or of an interned id.
pub(super) type Slot = u32;
/// "No executor".
pub(super) const NO_SLOT: Slot = Slot::MAX;
/// "No time".
const NO_TIME: i64 = i64::MIN;

/// 128 bits without `u128`'s 16-byte alignment, so rows pack tightly;
/// ordered as the number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Bits128([u64; 2]);

impl Bits128 {
    fn new(v: u128) -> Self {
        // Splitting into halves: the casts keep exactly the bits wanted.
        Self([(v >> 64) as u64, v as u64])
    }
    fn get(self) -> u128 {
        (u128::from(self.0[0]) << 64) | u128::from(self.0[1])
    }
}

/// The id as 128 bits when it is a lower-case hyphenated UUID, the form
/// [`ExecutionId::generate`] makes (and the only one stored this compactly).
fn uuid_bits(id: &str) -> Option<u128> {
    let id = id.as_bytes();
    if id.len() != uuid::fmt::Hyphenated::LENGTH || HYPHENS.iter().any(|&i| id[i] != b'-') {
        return None;
    }
    // The 32 digits without the hyphens; with a hyphen anywhere else, the
    // zero bytes left at the end are not digits.
    let mut digits = [0u8; 32];
    for (d, b) in digits.iter_mut().zip(id.iter().filter(|b| **b != b'-')) {
        *d = *b;
    }
    crate::dispatch::lower_hex_u128(&digits)
}

/// Where a hyphenated UUID has its hyphens.
const HYPHENS: [usize; 4] = [8, 13, 18, 23];

fn uuid_text(v: u128, buf: &mut [u8; uuid::fmt::Hyphenated::LENGTH]) -> &str {
    uuid::Uuid::from_u128(v).hyphenated().encode_lower(buf)
}

/// Nanoseconds since the epoch; `Invalid` outside 1677–2262.
pub(super) fn nanos(t: DateTime<Utc>) -> StoreResult<i64> {
    t.timestamp_nanos_opt()
        .filter(|n| *n != NO_TIME)
        .ok_or_else(|| StoreError::Invalid(format!("time {t} is outside the memory store's range")))
}

/// [`nanos`] clamped, for query bounds.
pub(super) fn nanos_clamped(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt()
        .unwrap_or(if t.timestamp() < 0 { NO_TIME + 1 } else { i64::MAX })
        .max(NO_TIME + 1)
}

fn nanos_opt(t: Option<DateTime<Utc>>) -> StoreResult<i64> {
    t.map_or(Ok(NO_TIME), nanos)
}

pub(super) fn time(n: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(n)
}

fn time_opt(n: i64) -> Option<DateTime<Utc>> {
    (n != NO_TIME).then(|| time(n))
}

const TEXT_ID: u8 = 1;
const HEX_TOKEN: u8 = 2;
/// Inserted by a claim: the `(task, scheduled_time)` pair is taken.
pub(super) const CLAIMED: u8 = 4;
/// The result is JSON `null` (what a handler that returns nothing gives),
/// kept without the extra fields.
const NULL_RESULT: u8 = 8;

/// The fields most final executions do not have.
#[derive(Debug, Default)]
struct Extra {
    result: Option<serde_json::Value>,
    logs: Option<Box<str>>,
    /// A token that is not 32 lower-case hex digits.
    token: Option<Box<str>>,
}

/// One execution, compactly (about 120 bytes).
#[derive(Debug)]
pub(super) struct Row {
    id: Bits128,
    token: Bits128,
    pub(super) scheduled: i64,
    pub(super) created: i64,
    start: i64,
    end: i64,
    pub(super) dispatched: i64,
    pub(super) next_attempt: i64,
    pub(super) timeout: i64,
    params: Option<Arc<serde_json::Value>>,
    extra: Option<Box<Extra>>,
    pub(super) task: Slot,
    pub(super) executor: Slot,
    retry_count: u32,
    pub(super) status: ExecutionStatus,
    pub(super) trigger: TriggerType,
    pub(super) flags: u8,
}

impl Row {
    pub(super) fn has_time(n: i64) -> bool {
        n != NO_TIME
    }

    pub(super) fn retry_count(&self) -> u32 {
        self.retry_count
    }

    /// Start and end, when both are set, as nanoseconds.
    pub(super) fn start_end(&self) -> Option<(i64, i64)> {
        (Self::has_time(self.start) && Self::has_time(self.end)).then_some((self.start, self.end))
    }

    /// Writes every field `ExecutionChange` may change, from `e`; fails
    /// before changing anything.
    fn set_mutable(&mut self, e: &Execution, executor: Slot) -> StoreResult<()> {
        let (start, end) = (nanos_opt(e.start_time)?, nanos_opt(e.end_time)?);
        let (dispatched, next_attempt, timeout) = (
            nanos_opt(e.dispatched_at)?,
            nanos_opt(e.next_attempt_at)?,
            nanos_opt(e.timeout_at)?,
        );
        self.start = start;
        self.end = end;
        self.dispatched = dispatched;
        self.next_attempt = next_attempt;
        self.timeout = timeout;
        self.executor = executor;
        self.retry_count = e.retry_count;
        self.status = e.status;
        self.extra = None;
        self.set_token(e.callback_token.as_deref());
        self.set_result(e.result.as_ref());
        if let Some(logs) = &e.logs {
            self.extra_mut().logs = Some(Box::from(logs.as_str()));
        }
        Ok(())
    }

    /// Applies `change` in place, without decoding the row; `executor` is
    /// the slot of the executor it sets, if it sets one. Fails before
    /// changing anything.
    fn apply(&mut self, change: &ExecutionChange, executor: Option<Slot>, max_log_bytes: usize) -> StoreResult<()> {
        let time = |t: Option<Option<DateTime<Utc>>>| t.map(nanos_opt).transpose();
        let (start, end) = (time(change.start_time)?, time(change.end_time)?);
        let (dispatched, next_attempt, timeout) = (
            time(change.dispatched_at)?,
            time(change.next_attempt_at)?,
            time(change.timeout_at)?,
        );
        let set = |field: &mut i64, v: Option<i64>| {
            if let Some(v) = v {
                *field = v;
            }
        };
        set(&mut self.start, start);
        set(&mut self.end, end);
        set(&mut self.dispatched, dispatched);
        set(&mut self.next_attempt, next_attempt);
        set(&mut self.timeout, timeout);
        if let Some(s) = change.status {
            self.status = s;
        }
        if let Some(x) = executor {
            self.executor = x;
        }
        if let Some(n) = change.retry_count {
            self.retry_count = n;
        }
        if let Some(token) = &change.callback_token {
            self.set_token(token.as_deref());
        }
        if let Some(result) = &change.result {
            self.set_result(result.as_ref());
        }
        if let Some(line) = &change.append_log {
            let extra = self.extra_mut();
            extra.logs = Some(logs::append_bounded(extra.logs.as_deref(), line, max_log_bytes).into());
        }
        self.shrink_extra();
        Ok(())
    }

    /// Stores a callback token: as 128 bits when it is 32 lower-case hex
    /// digits, else as text in the extra fields.
    fn set_token(&mut self, token: Option<&str>) {
        let hex = token.and_then(|t| crate::dispatch::lower_hex_u128(t.as_bytes()));
        self.token = Bits128::new(hex.unwrap_or(0));
        if hex.is_some() {
            self.flags |= HEX_TOKEN;
        } else {
            self.flags &= !HEX_TOKEN;
        }
        let text = token.filter(|_| hex.is_none()).map(Box::from);
        if text.is_some() || self.extra.is_some() {
            self.extra_mut().token = text;
        }
    }

    /// Stores a result: JSON `null` as a flag, anything else in the extra
    /// fields.
    fn set_result(&mut self, result: Option<&serde_json::Value>) {
        let null = result.is_some_and(serde_json::Value::is_null);
        if null {
            self.flags |= NULL_RESULT;
        } else {
            self.flags &= !NULL_RESULT;
        }
        match result.filter(|_| !null) {
            Some(v) => self.extra_mut().result = Some(v.clone()),
            None => {
                if let Some(x) = self.extra.as_deref_mut() {
                    x.result = None;
                }
            }
        }
    }

    fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// Drops the extra fields when none is set.
    fn shrink_extra(&mut self) {
        if self
            .extra
            .as_deref()
            .is_some_and(|x| x.result.is_none() && x.logs.is_none() && x.token.is_none())
        {
            self.extra = None;
        }
    }
}

/// Ids mapped to dense `u32` slots, for ids that repeat across rows.
#[derive(Debug)]
pub(super) struct Interner<Id> {
    ids: Vec<Id>,
    slots: HashMap<Id, Slot>,
}

impl<Id: Clone + Eq + Hash> Interner<Id> {
    pub(super) fn new() -> Self {
        Self {
            ids: Vec::new(),
            slots: HashMap::default(),
        }
    }

    pub(super) fn get(&self, id: &Id) -> Option<Slot> {
        self.slots.get(id).copied()
    }

    pub(super) fn intern(&mut self, id: &Id) -> Slot {
        if let Some(s) = self.slots.get(id) {
            return *s;
        }
        let s = Slot::try_from(self.ids.len()).unwrap_or(NO_SLOT - 1);
        self.ids.push(id.clone());
        self.slots.insert(id.clone(), s);
        s
    }

    pub(super) fn id(&self, slot: Slot) -> &Id {
        &self.ids[slot as usize]
    }

    pub(super) fn len(&self) -> usize {
        self.ids.len()
    }
}

/// A row's id: the 128 bits of a UUID, or the text.
enum Key<'a> {
    Uuid(u128),
    Text(&'a str),
}

/// Rows per chunk of the slab.
const CHUNK: usize = 4096;

/// Slots to rows, in chunks of [`CHUNK`] allocated whole: the slab grows a
/// chunk at a time and never moves a row (one vector of every row, grown by
/// doubling, copied megabytes and faulted in fresh pages as history grew).
#[derive(Debug, Default)]
struct Slab {
    chunks: Vec<Vec<Option<Row>>>,
    len: usize,
}

impl Slab {
    fn get(&self, slot: Slot) -> Option<&Option<Row>> {
        let i = slot as usize;
        self.chunks.get(i / CHUNK)?.get(i % CHUNK)
    }

    fn get_mut(&mut self, slot: Slot) -> Option<&mut Option<Row>> {
        let i = slot as usize;
        self.chunks.get_mut(i / CHUNK)?.get_mut(i % CHUNK)
    }

    /// A new empty slot at the end.
    fn push(&mut self) -> StoreResult<Slot> {
        let slot = Slot::try_from(self.len)
            .ok()
            .filter(|s| *s < NO_SLOT - 1)
            .ok_or_else(|| StoreError::Unavailable("memory store is full".into()))?;
        if self.len.is_multiple_of(CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        if let Some(chunk) = self.chunks.last_mut() {
            chunk.push(None);
        }
        self.len += 1;
        Ok(slot)
    }
}

/// The slab of rows with its id lookup.
#[derive(Debug, Default)]
pub(super) struct Rows {
    rows: Slab,
    free: Vec<Slot>,
    /// Rows whose id is a UUID, by id: the engine's ids are time-ordered
    /// (UUID v7), so new ones go at the end and the executions being
    /// updated are found among the last entries, where a hash table found
    /// each at a random place in memory.
    by_uuid: Sorted<(Bits128, Slot)>,
    /// Rows with any other id, both ways.
    by_text: HashMap<ExecutionId, Slot>,
    text_ids: HashMap<Slot, ExecutionId>,
    len: usize,
}

impl Rows {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn get(&self, slot: Slot) -> &Row {
        // Slots come from this slab's index or lookup, under the same lock.
        self.rows.get(slot).and_then(Option::as_ref).expect("a live slot")
    }

    fn key(&self, slot: Slot) -> Key<'_> {
        key_of(&self.rows, &self.text_ids, slot)
    }

    pub(super) fn find(&self, id: &ExecutionId) -> Option<Slot> {
        match uuid_bits(id.as_str()) {
            Some(v) => self.find_uuid(Bits128::new(v)),
            None => self.by_text.get(id).copied(),
        }
    }

    fn find_uuid(&self, id: Bits128) -> Option<Slot> {
        self.by_uuid.find_by(|(k, _)| k.cmp(&id)).map(|(_, s)| *s)
    }

    /// Stores a new row for `e` (with `flags`); `None` when the id is taken.
    /// The id is parsed once.
    pub(super) fn insert(
        &mut self,
        e: &Execution,
        task: Slot,
        executor: Slot,
        params: Option<Arc<serde_json::Value>>,
        flags: u8,
    ) -> StoreResult<Option<Slot>> {
        let uuid = uuid_bits(e.id.as_str());
        let mut row = Row {
            id: Bits128::new(uuid.unwrap_or(0)),
            token: Bits128::default(),
            scheduled: nanos(e.scheduled_time)?,
            created: nanos(e.created_at)?,
            start: NO_TIME,
            end: NO_TIME,
            dispatched: NO_TIME,
            next_attempt: NO_TIME,
            timeout: NO_TIME,
            params,
            extra: None,
            task,
            executor,
            retry_count: 0,
            status: e.status,
            trigger: e.trigger_type,
            flags: flags | if uuid.is_some() { 0 } else { TEXT_ID },
        };
        row.set_mutable(e, executor)?;
        let taken = match uuid {
            Some(v) => self.find_uuid(Bits128::new(v)).is_some(),
            None => self.by_text.contains_key(&e.id),
        };
        if taken {
            return Ok(None);
        }
        let slot = match self.free.pop() {
            Some(s) => s,
            None => self.rows.push()?,
        };
        if let Some(place) = self.rows.get_mut(slot) {
            *place = Some(row);
        }
        match uuid {
            Some(v) => {
                self.by_uuid.insert((Bits128::new(v), slot));
            }
            None => {
                self.by_text.insert(e.id.clone(), slot);
                self.text_ids.insert(slot, e.id.clone());
            }
        }
        self.len += 1;
        Ok(Some(slot))
    }

    /// Applies a compare-and-set change to a row in place (see
    /// [`Row::apply`]).
    pub(super) fn apply(
        &mut self,
        slot: Slot,
        change: &ExecutionChange,
        executor: Option<Slot>,
        max_log_bytes: usize,
    ) -> StoreResult<()> {
        match self.rows.get_mut(slot).and_then(Option::as_mut) {
            Some(row) => row.apply(change, executor, max_log_bytes),
            None => Err(StoreError::Internal(format!("no row in slot {slot}"))),
        }
    }

    pub(super) fn set_executor(&mut self, slot: Slot, executor: Slot) {
        if let Some(row) = self.rows.get_mut(slot).and_then(Option::as_mut) {
            row.executor = executor;
        }
    }

    pub(super) fn remove(&mut self, slot: Slot) -> Option<Row> {
        let row = self.rows.get(slot)?.as_ref()?;
        if row.flags & TEXT_ID == 0 {
            self.by_uuid.remove(&(row.id, slot));
        } else if let Some(id) = self.text_ids.remove(&slot) {
            self.by_text.remove(&id);
        }
        self.free.push(slot);
        self.len -= 1;
        self.rows.get_mut(slot)?.take()
    }

    /// The id of a row.
    pub(super) fn id(&self, slot: Slot) -> ExecutionId {
        match self.key(slot) {
            Key::Uuid(v) => ExecutionId::from(uuid_text(v, &mut [0; uuid::fmt::Hyphenated::LENGTH])),
            Key::Text(_) => self
                .text_ids
                .get(&slot)
                .cloned()
                .unwrap_or_else(|| ExecutionId::new("")),
        }
    }

    /// Orders two rows' ids as their text orders.
    pub(super) fn cmp_ids(&self, a: Slot, b: Slot) -> Ordering {
        match (self.key(a), self.key(b)) {
            // Lower-case hex at fixed places orders as the number does.
            (Key::Uuid(x), Key::Uuid(y)) => x.cmp(&y),
            (x, y) => with_text(&x, |x| with_text(&y, |y| x.cmp(y))),
        }
    }

    /// Orders a row's id against `id` as text.
    pub(super) fn cmp_id(&self, slot: Slot, id: &ExecutionId) -> Ordering {
        with_text(&self.key(slot), |x| x.cmp(id.as_str()))
    }

    /// The stored execution; `with_extra: false` leaves the result and the
    /// logs out (`None`), as list items show it.
    pub(super) fn decode(
        &self,
        slot: Slot,
        tasks: &Interner<TaskId>,
        executors: &Interner<ExecutorId>,
        with_extra: bool,
    ) -> Execution {
        let r = self.get(slot);
        let extra = r.extra.as_deref().filter(|_| with_extra);
        let token = if r.flags & HEX_TOKEN != 0 {
            Some(format!("{:032x}", r.token.get()))
        } else {
            r.extra.as_deref().and_then(|x| x.token.as_deref()).map(str::to_owned)
        };
        Execution {
            id: self.id(slot),
            task_id: tasks.id(r.task).clone(),
            executor_id: (r.executor != NO_SLOT).then(|| executors.id(r.executor).clone()),
            trigger_type: r.trigger,
            scheduled_time: time(r.scheduled),
            start_time: time_opt(r.start),
            end_time: time_opt(r.end),
            status: r.status,
            parameters: r.params.as_deref().cloned(),
            result: if with_extra && r.flags & NULL_RESULT != 0 {
                Some(serde_json::Value::Null)
            } else {
                extra.and_then(|x| x.result.clone())
            },
            logs: extra.and_then(|x| x.logs.as_deref()).map(str::to_owned),
            retry_count: r.retry_count,
            created_at: time(r.created),
            dispatched_at: time_opt(r.dispatched),
            next_attempt_at: time_opt(r.next_attempt),
            timeout_at: time_opt(r.timeout),
            callback_token: token,
        }
    }
}

fn with_text<T>(key: &Key<'_>, f: impl FnOnce(&str) -> T) -> T {
    match key {
        Key::Uuid(v) => f(uuid_text(*v, &mut [0; uuid::fmt::Hyphenated::LENGTH])),
        Key::Text(s) => f(s),
    }
}

/// The key of the row in `slot` (an empty text for an empty slot).
fn key_of<'a>(rows: &Slab, text_ids: &'a HashMap<Slot, ExecutionId>, slot: Slot) -> Key<'a> {
    match rows.get(slot).and_then(Option::as_ref) {
        Some(r) if r.flags & TEXT_ID == 0 => Key::Uuid(r.id.get()),
        _ => Key::Text(text_ids.get(&slot).map_or("", ExecutionId::as_str)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lower_case_hyphenated_uuids_read_as_numbers() {
        let u = uuid::Uuid::now_v7();
        let text = u.hyphenated().to_string();
        assert_eq!(uuid_bits(&text), Some(u.as_u128()));
        assert_eq!(uuid_bits(&text.to_uppercase()), None);
        assert_eq!(uuid_bits(&u.simple().to_string()), None);
        let mut moved = text.clone().into_bytes();
        moved.swap(8, 9);
        assert_eq!(uuid_bits(std::str::from_utf8(&moved).unwrap()), None);
        assert_eq!(uuid_bits(&format!("{}-", &text[..35])), None);
        assert_eq!(uuid_bits("zz-manual"), None);
    }
}
