//! Cron schedules evaluated in an IANA time zone.
//!
//! Expressions have 6 fields `sec min hour day-of-month month day-of-week`, or 5
//! fields `min hour day-of-month month day-of-week` that fire at second 0, or one
//! of the nicknames `@yearly @monthly @weekly @daily @hourly`. Parsing and
//! matching (including `L`, `W` and `#`) are [`croner`]'s; this module adds the
//! time zone and the two questions the engine asks: the next instant after a
//! time, and the latest instant in an interval (for misfires).
//!
//! # Daylight saving time
//!
//! Evaluation follows croner's DST rules, tested in `Europe/Berlin` below:
//!
//! ```text
//! spring forward, 2026-03-29 02:00 -> 03:00 local (01:00 UTC):
//!   "0 30 2 * * *"    fixed time in the gap   -> fires once, at 03:00 local (01:00 UTC)
//!   "0 */30 * * * *"  interval                -> 01:30, (02:00, 02:30 do not exist), 03:00 local
//! fall back, 2026-10-25 03:00 -> 02:00 local (01:00 UTC):
//!   "0 30 2 * * *"    fixed time, hour twice  -> fires once, at the first 02:30 (00:30 UTC)
//!   "0 */30 * * * *"  interval                -> every real half hour, both 02:xx passes
//! ```

use crate::ValidationError;
use chrono::{DateTime, SubsecRound, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use std::sync::OnceLock;

/// A parsed cron expression bound to a time zone.
#[derive(Clone, Debug)]
pub struct Schedule {
    cron: Cron,
    tz: Tz,
}

fn parser() -> &'static CronParser {
    static PARSER: OnceLock<CronParser> = OnceLock::new();
    PARSER.get_or_init(|| {
        CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build()
    })
}

/// Parses an IANA zone name (`UTC`, `Europe/Berlin`).
pub(crate) fn parse_timezone(name: &str) -> Result<Tz, ValidationError> {
    name.parse::<Tz>()
        .map_err(|_| ValidationError::new("timezone", format!("unknown IANA time zone {name:?}")))
}

impl Schedule {
    /// Parses `expression` and `timezone`; errors name the field that is wrong.
    ///
    /// An expression that parses but never fires (`0 0 0 30 2 *`) is rejected.
    pub fn new(expression: &str, timezone: &str) -> Result<Self, ValidationError> {
        let schedule = Self::parse(expression, timezone)?;
        // An impossible date parses; only a search shows it never fires. Search
        // from a fixed instant so the answer does not depend on today's date.
        let probe = DateTime::from_timestamp(0, 0).unwrap_or_default();
        if schedule.next_after(probe).is_none() {
            return Err(ValidationError::new("cron_expression", "never fires"));
        }
        Ok(schedule)
    }

    /// Parses without checking that the expression ever fires (for stored
    /// tasks, which were checked on the way in).
    pub(crate) fn parse(expression: &str, timezone: &str) -> Result<Self, ValidationError> {
        let tz = parse_timezone(timezone)?;
        let trimmed = expression.trim();
        if !trimmed.starts_with('@') {
            let fields = trimmed.split_whitespace().count();
            if fields != 5 && fields != 6 {
                return Err(ValidationError::new(
                    "cron_expression",
                    format!("must have 5 or 6 fields (got {fields})"),
                ));
            }
        }
        let cron = parser()
            .parse(trimmed)
            .map_err(|e| ValidationError::new("cron_expression", format!("invalid cron expression: {e}")))?;
        Ok(Self { cron, tz })
    }

    /// The time zone the expression is evaluated in.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The first instant strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Instants are whole seconds: the next one after `t` is the next one
        // after the second `t` lies in.
        let local = t.trunc_subsecs(0).with_timezone(&self.tz);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }

    /// The latest instant `i` with `after < i <= until`, if any.
    pub fn latest_in(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if until <= after {
            return None;
        }
        let local = until.trunc_subsecs(0).with_timezone(&self.tz);
        let prev = self
            .cron
            .find_previous_occurrence(&local, true)
            .ok()?
            .with_timezone(&Utc);
        (prev > after).then_some(prev)
    }

    /// The next `n` instants strictly after `t` (for previews).
    pub fn upcoming(&self, t: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(n);
        let mut cursor = t;
        while out.len() < n {
            match self.next_after(cursor) {
                Some(next) => {
                    out.push(next);
                    cursor = next;
                }
                None => break,
            }
        }
        out
    }
}

/// Parsed schedules shared by every task with the same expression and zone,
/// bounded in size.
///
/// A parsed expression takes several kilobytes (croner keeps a bit per
/// possible year), so the timer does not keep one per task: it asks this
/// cache when a task fires. Two generations: lookups promote entries from
/// the old generation; when the new one is full the old one is dropped. At
/// most `2 × capacity` schedules are held.
#[derive(Debug)]
pub(crate) struct ScheduleCache {
    capacity: usize,
    current: Generation,
    previous: Generation,
}

/// Schedules by time zone, then expression: looked up with `&str`s, so a hit
/// allocates nothing.
#[derive(Debug, Default)]
struct Generation {
    by_zone: std::collections::HashMap<String, std::collections::HashMap<String, std::sync::Arc<Schedule>>>,
    len: usize,
}

impl Generation {
    fn get(&self, expression: &str, timezone: &str) -> Option<&std::sync::Arc<Schedule>> {
        self.by_zone.get(timezone)?.get(expression)
    }

    fn remove(&mut self, expression: &str, timezone: &str) -> Option<std::sync::Arc<Schedule>> {
        let s = self.by_zone.get_mut(timezone)?.remove(expression)?;
        self.len -= 1;
        Some(s)
    }

    fn insert(&mut self, expression: &str, timezone: &str, schedule: std::sync::Arc<Schedule>) {
        let zone = self.by_zone.entry(timezone.to_owned()).or_default();
        if zone.insert(expression.to_owned(), schedule).is_none() {
            self.len += 1;
        }
    }
}

impl ScheduleCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            current: Generation::default(),
            previous: Generation::default(),
        }
    }

    /// The parsed schedule of `expression` in `timezone`.
    pub(crate) fn get(
        &mut self,
        expression: &str,
        timezone: &str,
    ) -> Result<std::sync::Arc<Schedule>, ValidationError> {
        if let Some(s) = self.current.get(expression, timezone) {
            return Ok(s.clone());
        }
        let schedule = match self.previous.remove(expression, timezone) {
            Some(s) => s,
            None => std::sync::Arc::new(Schedule::parse(expression, timezone)?),
        };
        if self.current.len >= self.capacity {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(expression, timezone, schedule.clone());
        Ok(schedule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    fn field(r: Result<Schedule, ValidationError>) -> String {
        r.expect_err("expected an error").field
    }

    #[test]
    fn six_fields_have_seconds() {
        let s = Schedule::new("*/15 * * * * *", "UTC").unwrap();
        assert_eq!(s.next_after(utc(2026, 1, 1, 0, 0, 0)), Some(utc(2026, 1, 1, 0, 0, 15)));
        assert_eq!(s.next_after(utc(2026, 1, 1, 0, 0, 14)), Some(utc(2026, 1, 1, 0, 0, 15)));
    }

    #[test]
    fn five_fields_fire_at_second_zero() {
        let s = Schedule::new("*/5 * * * *", "UTC").unwrap();
        assert_eq!(s.next_after(utc(2026, 1, 1, 0, 0, 1)), Some(utc(2026, 1, 1, 0, 5, 0)));
        assert_eq!(s.next_after(utc(2026, 1, 1, 0, 5, 0)), Some(utc(2026, 1, 1, 0, 10, 0)));
    }

    #[test]
    fn next_is_strictly_after_even_inside_a_second() {
        let s = Schedule::new("* * * * * *", "UTC").unwrap();
        let t = utc(2026, 1, 1, 0, 0, 0) + chrono::Duration::milliseconds(500);
        assert_eq!(s.next_after(t), Some(utc(2026, 1, 1, 0, 0, 1)));
    }

    #[test]
    fn nicknames() {
        let t = utc(2026, 5, 14, 13, 20, 0); // a Thursday
        let cases = [
            ("@yearly", utc(2027, 1, 1, 0, 0, 0)),
            ("@monthly", utc(2026, 6, 1, 0, 0, 0)),
            ("@weekly", utc(2026, 5, 17, 0, 0, 0)),
            ("@daily", utc(2026, 5, 15, 0, 0, 0)),
            ("@hourly", utc(2026, 5, 14, 14, 0, 0)),
        ];
        for (expr, want) in cases {
            let s = Schedule::new(expr, "UTC").unwrap();
            assert_eq!(s.next_after(t), Some(want), "{expr}");
        }
    }

    #[test]
    fn evaluated_in_the_task_time_zone() {
        let s = Schedule::new("0 0 9 * * *", "America/New_York").unwrap();
        // 09:00 EST is 14:00 UTC in January.
        assert_eq!(
            s.next_after(utc(2026, 1, 10, 0, 0, 0)),
            Some(utc(2026, 1, 10, 14, 0, 0))
        );
        // 09:00 EDT is 13:00 UTC in July.
        assert_eq!(
            s.next_after(utc(2026, 7, 10, 0, 0, 0)),
            Some(utc(2026, 7, 10, 13, 0, 0))
        );
    }

    #[test]
    fn dst_spring_forward_berlin() {
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST, i.e. at 01:00 UTC.
        let fixed = Schedule::new("0 30 2 * * *", "Europe/Berlin").unwrap();
        // 02:30 does not exist that day: the job runs at the first valid time after the gap.
        assert_eq!(
            fixed.next_after(utc(2026, 3, 28, 23, 0, 0)),
            Some(utc(2026, 3, 29, 1, 0, 0))
        );
        // And the day after at 02:30 CEST = 00:30 UTC.
        assert_eq!(
            fixed.next_after(utc(2026, 3, 29, 1, 0, 0)),
            Some(utc(2026, 3, 30, 0, 30, 0))
        );

        let every_half_hour = Schedule::new("0 */30 * * * *", "Europe/Berlin").unwrap();
        let got = every_half_hour.upcoming(utc(2026, 3, 29, 0, 0, 0), 3);
        // 01:30 CET (00:30 UTC), then 03:00 CEST (01:00 UTC), 03:30 CEST (01:30 UTC): 02:xx is skipped.
        assert_eq!(
            got,
            vec![
                utc(2026, 3, 29, 0, 30, 0),
                utc(2026, 3, 29, 1, 0, 0),
                utc(2026, 3, 29, 1, 30, 0)
            ]
        );
    }

    #[test]
    fn dst_fall_back_berlin() {
        // 2026-10-25: 03:00 CEST falls back to 02:00 CET, i.e. at 01:00 UTC; 02:xx happens twice.
        let fixed = Schedule::new("0 30 2 * * *", "Europe/Berlin").unwrap();
        let got = fixed.upcoming(utc(2026, 10, 24, 23, 0, 0), 2);
        // Only the first 02:30 (CEST, 00:30 UTC), then the next day's 02:30 CET (01:30 UTC).
        assert_eq!(got, vec![utc(2026, 10, 25, 0, 30, 0), utc(2026, 10, 26, 1, 30, 0)]);

        let every_half_hour = Schedule::new("0 */30 * * * *", "Europe/Berlin").unwrap();
        let got = every_half_hour.upcoming(utc(2026, 10, 24, 23, 45, 0), 5);
        // Every real half hour, through both passes of 02:xx local.
        assert_eq!(
            got,
            vec![
                utc(2026, 10, 25, 0, 0, 0),
                utc(2026, 10, 25, 0, 30, 0),
                utc(2026, 10, 25, 1, 0, 0),
                utc(2026, 10, 25, 1, 30, 0),
                utc(2026, 10, 25, 2, 0, 0),
            ]
        );
    }

    #[test]
    fn invalid_expressions_name_the_field() {
        assert_eq!(field(Schedule::new("not a cron", "UTC")), "cron_expression");
        assert_eq!(field(Schedule::new("* * * *", "UTC")), "cron_expression");
        assert_eq!(field(Schedule::new("0 0 0 * * * 2030", "UTC")), "cron_expression");
        assert_eq!(field(Schedule::new("61 * * * * *", "UTC")), "cron_expression");
        assert_eq!(field(Schedule::new("* * 25 * * *", "UTC")), "cron_expression");
        assert_eq!(field(Schedule::new("", "UTC")), "cron_expression");
        assert_eq!(field(Schedule::new("@fortnightly", "UTC")), "cron_expression");
        assert_eq!(field(Schedule::new("* * * * *", "Mars/Olympus")), "timezone");
        assert_eq!(field(Schedule::new("* * * * *", "")), "timezone");
    }

    #[test]
    fn never_firing_expressions_are_invalid() {
        let err = Schedule::new("0 0 0 30 2 *", "UTC").unwrap_err();
        assert_eq!(err.field, "cron_expression");
        assert!(err.message.contains("never fires"), "{err}");
        assert!(Schedule::new("0 0 31 4 *", "UTC").is_err());
    }

    #[test]
    fn february_29_fires_only_in_leap_years() {
        let s = Schedule::new("0 0 12 29 2 *", "UTC").unwrap();
        assert_eq!(s.next_after(utc(2026, 3, 1, 0, 0, 0)), Some(utc(2028, 2, 29, 12, 0, 0)));
        assert_eq!(
            s.next_after(utc(2028, 2, 29, 12, 0, 0)),
            Some(utc(2032, 2, 29, 12, 0, 0))
        );
    }

    #[test]
    fn last_day_and_nth_weekday() {
        let last = Schedule::new("0 0 0 L * *", "UTC").unwrap();
        assert_eq!(
            last.next_after(utc(2026, 2, 1, 0, 0, 0)),
            Some(utc(2026, 2, 28, 0, 0, 0))
        );
        let second_monday = Schedule::new("0 0 0 * * MON#2", "UTC").unwrap();
        assert_eq!(
            second_monday.next_after(utc(2026, 11, 1, 0, 0, 0)),
            Some(utc(2026, 11, 9, 0, 0, 0))
        );
    }

    #[test]
    fn the_cache_shares_and_stays_bounded() {
        let mut c = ScheduleCache::new(2);
        let a = c.get("* * * * * *", "UTC").unwrap();
        let b = c.get("* * * * * *", "UTC").unwrap();
        assert!(std::sync::Arc::ptr_eq(&a, &b));
        for i in 0..10 {
            c.get(&format!("{i} * * * * *"), "UTC").unwrap();
        }
        assert!(c.current.len + c.previous.len <= 4);
        assert_eq!(c.get("* * * * * *", "Mars/Base").unwrap_err().field, "timezone");
    }

    #[test]
    fn latest_instant_in_interval() {
        let s = Schedule::new("*/10 * * * * *", "UTC").unwrap();
        let a = utc(2026, 1, 1, 0, 0, 0);
        // (00:00:00, 00:00:35] -> 00:00:30
        assert_eq!(
            s.latest_in(a, utc(2026, 1, 1, 0, 0, 35)),
            Some(utc(2026, 1, 1, 0, 0, 30))
        );
        // the upper bound is inclusive
        assert_eq!(
            s.latest_in(a, utc(2026, 1, 1, 0, 0, 30)),
            Some(utc(2026, 1, 1, 0, 0, 30))
        );
        // the lower bound is exclusive
        assert_eq!(s.latest_in(a, utc(2026, 1, 1, 0, 0, 9)), None);
        assert_eq!(s.latest_in(utc(2026, 1, 1, 0, 0, 10), utc(2026, 1, 1, 0, 0, 19)), None);
        // empty interval
        assert_eq!(s.latest_in(a, a), None);
        // a daily job missed for three days -> the latest day
        let daily = Schedule::new("0 0 3 * * *", "Europe/Berlin").unwrap();
        assert_eq!(
            daily.latest_in(utc(2026, 6, 1, 0, 0, 0), utc(2026, 6, 4, 12, 0, 0)),
            Some(utc(2026, 6, 4, 1, 0, 0))
        );
    }
}
