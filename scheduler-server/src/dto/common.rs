//! What every resource's shapes share: the timestamp format and the page
//! type. The closed enums (statuses, misfire policy, trigger type) are the
//! core's own, documented through its `openapi` feature.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The one timestamp format of the API: RFC 3339, UTC, milliseconds, `Z`.
pub const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

/// Writes `YYYY-MM-DDTHH:MM:SS.mmmZ` without going through a format string
/// (responses hold thousands of timestamps); `None` outside years 0..=9999.
fn write_fast(t: &DateTime<Utc>) -> Option<[u8; 24]> {
    use chrono::{Datelike, Timelike};
    let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
    let mut b = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, t.month());
    put(8, 2, t.day());
    put(11, 2, t.hour());
    put(14, 2, t.minute());
    // A leap second is carried by the nanoseconds in chrono: keep it in the seconds field.
    let nanos = t.nanosecond();
    put(17, 2, t.second() + nanos / 1_000_000_000);
    put(20, 3, (nanos % 1_000_000_000) / 1_000_000);
    Some(b)
}

/// Parses any RFC 3339 timestamp into UTC.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A UTC instant, written `YYYY-MM-DDTHH:MM:SS.mmmZ` and read from any RFC 3339 text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Self(t)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match write_fast(&self.0) {
            // The buffer holds ASCII digits and separators only.
            Some(b) => f.write_str(std::str::from_utf8(&b).map_err(|_| fmt::Error)?),
            None => write!(f, "{}", self.0.format(TIMESTAMP_FORMAT)),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp such as \"2026-11-24T10:00:00Z\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                parse_timestamp(v).map(Timestamp).ok_or_else(|| {
                    E::custom(format!(
                        "must be an RFC 3339 timestamp such as \"2026-11-24T10:00:00Z\" (got {v:?})"
                    ))
                })
            }
        }
        d.deserialize_str(V)
    }
}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some(
                "RFC 3339 in UTC with milliseconds on output; any RFC 3339 text on input.",
            ))
            .examples([serde_json::json!("2026-11-24T10:00:00.000Z")])
            .into()
    }
}

impl utoipa::ToSchema for Timestamp {}

pub(super) fn ts(t: DateTime<Utc>) -> Timestamp {
    Timestamp(t)
}

pub(super) fn opt_ts(t: Option<DateTime<Utc>>) -> Option<Timestamp> {
    t.map(Timestamp)
}

macro_rules! list_type {
    ($(#[$m:meta])* $name:ident of $item:ty) => {
        $(#[$m])*
        #[derive(Clone, Debug, Serialize, ToSchema)]
        pub struct $name {
            /// This page's rows.
            pub items: Vec<$item>,
            /// Rows matching the filter, all pages.
            pub total: u64,
            /// Page number, from 1.
            pub page: u32,
            /// Rows per page.
            pub page_size: u32,
        }
    };
}
pub(super) use list_type;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_format_matches_chrono() {
        let samples = [
            "2026-11-24T10:00:00Z",
            "2026-11-24T10:00:00.5Z",
            "1999-01-02T03:04:05.678901+02:00",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
            "2016-12-31T23:59:60.123Z",
        ];
        for s in samples {
            let t = parse_timestamp(s).unwrap();
            assert_eq!(Timestamp(t).to_string(), t.format(TIMESTAMP_FORMAT).to_string(), "{s}");
        }
    }

    #[test]
    fn timestamps_parse_any_rfc3339() {
        let t = parse_timestamp("2026-11-24T12:00:00+02:00").unwrap();
        assert_eq!(Timestamp(t).to_string(), "2026-11-24T10:00:00.000Z");
        assert!(parse_timestamp("2026-11-24").is_none());
        assert!(parse_timestamp("yesterday").is_none());
    }
}
