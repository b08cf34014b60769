//! Durations as the configuration writes them (`500ms`, `30s`, `1m30s`),
//! read and printed by `humantime`.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::time::Duration;

/// Longest duration any key accepts: a year. Larger values would overflow
/// timers and clock arithmetic.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 86_400);

/// A duration written as `500ms`, `30s`, `5m`, `1h`, `1d` or a combination
/// (`1m30s`); see [`parse_duration`] for every form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigDuration(pub Duration);

impl ConfigDuration {
    pub(super) const fn secs(s: u64) -> Self {
        Self(Duration::from_secs(s))
    }
}

impl fmt::Display for ConfigDuration {
    /// `humantime`'s format (`30s`, `500ms`, `1m 30s`), which [`parse_duration`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl Serialize for ConfigDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ConfigDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"500ms\", \"30s\", \"5m\" or \"1h\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ConfigDuration, E> {
                let d = parse_duration(v).map_err(E::custom)?;
                if d > MAX_DURATION {
                    return Err(E::custom(format!(
                        "duration {v:?} is too long: at most {}d",
                        MAX_DURATION.as_secs() / 86_400
                    )));
                }
                Ok(ConfigDuration(d))
            }
        }
        d.deserialize_str(V)
    }
}

/// Parses a duration with [`humantime::parse_duration`]: a number and a
/// unit (`500ms`, `30s`, `5m`, `1h`, `1d`, `2w`), several of them summed
/// (`1m30s`, `1h 30m`), long unit names (`30sec`, `5min`, `2hours`) and
/// fractions (`1.5s`). `M` is a month (30.44 days) and `y` a year (365.25
/// days).
///
/// A bare number is refused, `0` included (humantime alone takes `0`): a
/// YAML `0` arrives as an integer and is refused, so the quoted `"0"` is
/// refused too rather than meaning something else.
///
/// The error quotes the text it could not read.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = |why: &dyn fmt::Display| {
        format!(
            "invalid duration {text:?} ({why}): write a number and a unit, e.g. \"30s\", \"500ms\", \"5m\" or \"1h\""
        )
    };
    let trimmed = text.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(&"time unit needed"));
    }
    humantime::parse_duration(text).map_err(|e| bad(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_forms() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration(" 30s "), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    /// What `humantime` added to the hand-written parser it replaced.
    #[test]
    fn the_forms_humantime_adds() {
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("30 s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("30sec"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5min"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2hours"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1w"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        // Case matters: `M` is a month, `m` a minute.
        assert_eq!(parse_duration("1M"), Ok(Duration::from_secs(2_630_016)));
    }

    #[test]
    fn bad_durations_are_refused_quoting_the_text() {
        for bad in [
            "",
            "0",
            "30",
            "s",
            "3x",
            "-1s",
            "30 s x",
            "1.s",
            "99999999999999999999d",
        ] {
            let err = parse_duration(bad).expect_err(bad);
            assert!(err.contains(&format!("{bad:?}")), "{bad:?}: {err}");
        }
        let err = parse_duration("30").unwrap_err();
        assert!(err.contains("time unit needed"), "{err}");
    }

    #[test]
    fn duration_display_round_trips() {
        for d in ["30s", "500ms", "0s", "1m 30s", "1day"] {
            let parsed = ConfigDuration(parse_duration(d).unwrap());
            assert_eq!(parsed.to_string(), d);
            assert_eq!(parse_duration(&parsed.to_string()), Ok(parsed.0));
        }
    }
}
