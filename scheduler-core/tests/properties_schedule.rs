//! Properties of schedules, checked on generated expressions, zones and
//! instants (proptest): the next fire lies strictly after `t` and nothing
//! fires in between, upcoming instants strictly increase, the latest instant
//! of `(a, b]` is the right one, and all of it holds across DST changes.

use chrono::{DateTime, Duration, TimeZone, Timelike, Utc};
use proptest::prelude::*;
use scheduler_core::Schedule;

const EXPRESSIONS: &[&str] = &[
    "* * * * * *",
    "*/7 * * * * *",
    "0 */15 * * * *",
    "0 30 2 * * *",
    "0 0 3 * * *",
    "30 59 1 * * *",
    "0 0 0 * * SUN",
    "0 0 12 1 * *",
    "0 0 0 29 2 *",
    "0 0 9-17 * * MON-FRI",
    "15 10 L * *",
    "@hourly",
    "@daily",
];

/// Zones with and without DST, north and south, and odd offsets.
const ZONES: &[&str] = &[
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
];

/// Instants between 2020 and 2035, and the DST changes of 2026 (± 3 h).
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let anywhere = (1_577_836_800i64..2_051_222_400i64).prop_map(|s| Utc.timestamp_opt(s, 0).unwrap());
    let dst_days = [
        "2026-03-29T01:00:00Z", // Europe springs forward
        "2026-10-25T01:00:00Z", // Europe falls back
        "2026-03-08T07:00:00Z", // New York springs forward
        "2026-11-01T06:00:00Z", // New York falls back
        "2026-04-04T16:00:00Z", // Sydney falls back
        "2026-10-03T16:00:00Z", // Sydney springs forward
    ];
    let near_dst = (0..dst_days.len(), -3 * 3600i64..3 * 3600i64, 0u32..1000).prop_map(move |(i, off, ms)| {
        DateTime::parse_from_rfc3339(dst_days[i]).unwrap().with_timezone(&Utc)
            + Duration::seconds(off)
            + Duration::milliseconds(ms.into())
    });
    prop_oneof![anywhere, near_dst]
}

fn schedule() -> impl Strategy<Value = (Schedule, &'static str, &'static str)> {
    (0..EXPRESSIONS.len(), 0..ZONES.len()).prop_map(|(e, z)| {
        let (expr, zone) = (EXPRESSIONS[e], ZONES[z]);
        (Schedule::new(expr, zone).unwrap(), expr, zone)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn next_is_strictly_after_and_nothing_fires_in_between((s, expr, zone) in schedule(), t in instant()) {
        let next = s.next_after(t).expect("every expression here fires again");
        prop_assert!(next > t, "{expr} in {zone}: next_after({t}) = {next}");
        prop_assert_eq!(next.nanosecond(), 0, "instants are whole seconds");
        // No instant in (t, next): the previous-occurrence search agrees.
        prop_assert_eq!(s.latest_in(t, next - Duration::seconds(1)), None, "{} in {}: an instant before {}", expr, zone, next);
        prop_assert_eq!(s.latest_in(t, next), Some(next));
    }

    #[test]
    fn upcoming_instants_strictly_increase_without_skipping((s, expr, zone) in schedule(), t in instant()) {
        let next = s.upcoming(t, 12);
        prop_assert_eq!(next.len(), 12);
        let mut prev = t;
        for i in next {
            prop_assert!(i > prev, "{expr} in {zone}: {i} after {prev}");
            prop_assert_eq!(s.next_after(prev), Some(i), "{} in {}: skipped an instant after {}", expr, zone, prev);
            prev = i;
        }
    }

    #[test]
    fn latest_in_is_the_last_instant_of_the_range(
        (s, expr, zone) in schedule(),
        a in instant(),
        len in 0i64..(40 * 86_400),
    ) {
        let b = a + Duration::seconds(len);
        match s.latest_in(a, b) {
            Some(x) => {
                prop_assert!(a < x && x <= b, "{expr} in {zone}: {x} outside ({a}, {b}]");
                prop_assert!(s.next_after(x).is_none_or(|n| n > b), "{expr} in {zone}: a later instant than {x} in ({a}, {b}]");
            }
            None => {
                prop_assert!(s.next_after(a).is_none_or(|n| n > b), "{expr} in {zone}: missed an instant in ({a}, {b}]");
            }
        }
    }

    #[test]
    fn local_fields_match_the_expression_across_dst(zone in 0..ZONES.len(), t in instant()) {
        let zone = ZONES[zone];
        let s = Schedule::new("0 */15 * * * *", zone).unwrap();
        for i in s.upcoming(t, 16) {
            let local = i.with_timezone(&s.timezone());
            prop_assert_eq!(local.second(), 0);
            prop_assert_eq!(local.minute() % 15, 0, "{} in {} is {}", i, zone, local);
        }
    }
}
