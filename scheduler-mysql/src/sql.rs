//! A tiny SQL statement type whose prepared statements diesel-async caches.
//!
//! Diesel marks every `UPDATE`, every struct `INSERT` and every `sql_query` as
//! unsafe to cache, so with `diesel-async`'s MySQL connection each of them is
//! prepared, executed and closed again: two round trips and a server-side
//! prepare per statement. [`Sql`] is fixed SQL text with `?` placeholders and
//! typed binds; it is cached by its text (one prepared statement per distinct
//! text and connection), which halves the round trips on the hot path
//! (claiming fires and compare-and-set updates). Rows come back through
//! `QueryableByName` structs whose column types are checked against
//! [`schema`](crate::schema).

use chrono::NaiveDateTime;
use diesel::QueryResult;
use diesel::mysql::Mysql;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Datetime, Integer, Nullable, Text, Unsigned, Untyped};

/// One bound value, with the SQL type it is sent as.
#[derive(Clone, Debug)]
pub(crate) enum Bind {
    Text(String),
    OptText(Option<String>),
    Time(NaiveDateTime),
    OptTime(Option<NaiveDateTime>),
    U32(u32),
    U64(u64),
    I32(i32),
    Bool(bool),
}

impl From<&str> for Bind {
    fn from(v: &str) -> Self {
        Bind::Text(v.to_owned())
    }
}
impl From<String> for Bind {
    fn from(v: String) -> Self {
        Bind::Text(v)
    }
}
impl From<&String> for Bind {
    fn from(v: &String) -> Self {
        Bind::Text(v.clone())
    }
}
impl From<Option<String>> for Bind {
    fn from(v: Option<String>) -> Self {
        Bind::OptText(v)
    }
}
impl From<NaiveDateTime> for Bind {
    fn from(v: NaiveDateTime) -> Self {
        Bind::Time(v)
    }
}
impl From<Option<NaiveDateTime>> for Bind {
    fn from(v: Option<NaiveDateTime>) -> Self {
        Bind::OptTime(v)
    }
}
impl From<u32> for Bind {
    fn from(v: u32) -> Self {
        Bind::U32(v)
    }
}
impl From<u64> for Bind {
    fn from(v: u64) -> Self {
        Bind::U64(v)
    }
}
impl From<i32> for Bind {
    fn from(v: i32) -> Self {
        Bind::I32(v)
    }
}
impl From<bool> for Bind {
    fn from(v: bool) -> Self {
        Bind::Bool(v)
    }
}

impl Bind {
    /// Whether `other` is the same value bound as the same type.
    pub(crate) fn same_as(&self, other: &Bind) -> bool {
        match (self, other) {
            (Bind::Text(a), Bind::Text(b)) => a == b,
            (Bind::OptText(a), Bind::OptText(b)) => a == b,
            (Bind::Time(a), Bind::Time(b)) => a == b,
            (Bind::OptTime(a), Bind::OptTime(b)) => a == b,
            (Bind::U32(a), Bind::U32(b)) => a == b,
            (Bind::U64(a), Bind::U64(b)) => a == b,
            (Bind::I32(a), Bind::I32(b)) => a == b,
            (Bind::Bool(a), Bind::Bool(b)) => a == b,
            _ => false,
        }
    }

    fn walk<'b>(&'b self, out: &mut AstPass<'_, 'b, Mysql>) -> QueryResult<()> {
        match self {
            Bind::Text(v) => out.push_bind_param::<Text, _>(v),
            Bind::OptText(v) => out.push_bind_param::<Nullable<Text>, _>(v),
            Bind::Time(v) => out.push_bind_param::<Datetime, _>(v),
            Bind::OptTime(v) => out.push_bind_param::<Nullable<Datetime>, _>(v),
            Bind::U32(v) => out.push_bind_param::<Unsigned<Integer>, _>(v),
            Bind::U64(v) => out.push_bind_param::<Unsigned<BigInt>, _>(v),
            Bind::I32(v) => out.push_bind_param::<Integer, _>(v),
            Bind::Bool(v) => out.push_bind_param::<Bool, _>(v),
        }
    }
}

/// SQL text with `?` placeholders (never inside a literal) and its binds.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sql {
    text: String,
    binds: Vec<Bind>,
    cacheable: bool,
}

impl Sql {
    /// A statement that is prepared once per connection and reused.
    pub(crate) fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            binds: Vec::new(),
            cacheable: true,
        }
    }

    /// Appends SQL text.
    pub(crate) fn push(mut self, text: &str) -> Self {
        self.text.push_str(text);
        self
    }

    /// Appends another statement fragment: its text and its binds.
    pub(crate) fn append(mut self, other: &Sql) -> Self {
        self.text.push_str(&other.text);
        self.binds.extend(other.binds.iter().cloned());
        self.cacheable &= other.cacheable;
        self
    }

    /// Appends SQL text in place.
    pub(crate) fn push_mut(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// Binds the next `?`.
    pub(crate) fn bind(mut self, v: impl Into<Bind>) -> Self {
        self.binds.push(v.into());
        self
    }

    /// Binds the next `?` in place.
    pub(crate) fn bind_mut(&mut self, v: impl Into<Bind>) {
        self.binds.push(v.into());
    }

    /// Prepares the statement for this one execution only (its text varies
    /// without bound, e.g. with the length of a list).
    pub(crate) fn uncacheable(&mut self) {
        self.cacheable = false;
    }

    /// Appends `(?, ?, ...)` binding each value, and marks the statement
    /// uncacheable when the list length is unbounded (so the server does not
    /// keep one prepared statement per length).
    pub(crate) fn push_in_list<T: Into<Bind>>(&mut self, values: impl IntoIterator<Item = T>, bounded: bool) {
        self.text.push('(');
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.text.push('?');
            self.binds.push(v.into());
        }
        self.text.push(')');
        if !bounded {
            self.uncacheable();
        }
    }
}

impl QueryId for Sql {
    type QueryId = ();
    // The statement cache then keys on the SQL text and the bind types.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Sql {
    type SqlType = Untyped;
}

impl QueryFragment<Mysql> for Sql {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Mysql>) -> QueryResult<()> {
        if !self.cacheable {
            out.unsafe_to_cache_prepared();
        }
        let mut binds = self.binds.iter();
        let mut parts = self.text.split('?');
        if let Some(first) = parts.next() {
            out.push_sql(first);
        }
        for part in parts {
            match binds.next() {
                Some(b) => b.walk(&mut out)?,
                None => return Err(mismatch(&self.text)),
            }
            out.push_sql(part);
        }
        if binds.next().is_some() {
            return Err(mismatch(&self.text));
        }
        Ok(())
    }
}

fn mismatch(sql: &str) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(format!("placeholder/bind count mismatch in {sql:?}").into())
}
