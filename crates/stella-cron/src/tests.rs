//! Cron against a minute-by-minute reference and crontab(5)'s examples.

use proptest::prelude::*;

use super::*;

fn at(y: i64, mo: u32, d: u32, h: i64, mi: i64) -> i64 {
    // days from civil (inverse of `civil`), for test inputs
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = if mo > 2 { mo - 3 } else { mo + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) * 86_400 + h * 3600 + mi * 60
}

#[test]
fn civil_round_trips() {
    for days in -800_000..800_000i64 {
        if days % 997 != 0 {
            continue;
        }
        let (y, m, d) = civil(days);
        assert_eq!(at(y, m, d, 0, 0), days * 86_400);
    }
    assert_eq!(civil(0), (1970, 1, 1));
    assert_eq!(civil(at(2024, 2, 29, 0, 0) / 86_400), (2024, 2, 29));
}

#[test]
fn nightly_feed_merge_at_00_59() {
    let s = Schedule::parse("59 0 * * *").unwrap();
    let t = at(2026, 11, 30, 12, 0);
    assert_eq!(s.prev(t), Some(at(2026, 11, 30, 0, 59)));
    assert_eq!(s.next(t), Some(at(2026, 12, 1, 0, 59)));
    assert_eq!(
        s.prev(at(2026, 11, 30, 0, 58)),
        Some(at(2026, 11, 29, 0, 59))
    );
    assert_eq!(
        s.prev(at(2026, 11, 30, 0, 59) + 30),
        Some(at(2026, 11, 30, 0, 59))
    );
    assert_eq!(
        s.next(at(2026, 11, 30, 0, 59)),
        Some(at(2026, 12, 1, 0, 59))
    );
}

#[test]
fn crontab_examples() {
    // "run at 2:15pm on the first of every month"
    let s = Schedule::parse("15 14 1 * *").unwrap();
    assert_eq!(
        s.next(at(2026, 11, 30, 0, 0)),
        Some(at(2026, 12, 1, 14, 15))
    );
    // "run at 10 pm on weekdays"
    let s = Schedule::parse("0 22 * * 1-5").unwrap();
    // 2026-12-05 is a Saturday
    assert_eq!(s.next(at(2026, 12, 4, 23, 0)), Some(at(2026, 12, 7, 22, 0)));
    // "23 minutes after midn, 2am, 4am ..., everyday"
    let s = Schedule::parse("23 0-23/2 * * *").unwrap();
    assert_eq!(s.next(at(2026, 1, 1, 0, 23)), Some(at(2026, 1, 1, 2, 23)));
    // day-of-month OR day-of-week when both are restricted: the 1st and the 15th, and Fridays
    let s = Schedule::parse("30 4 1,15 * 5").unwrap();
    assert!(s.matches(at(2026, 12, 4, 4, 30)), "a Friday");
    assert!(s.matches(at(2026, 12, 15, 4, 30)), "the 15th (a Tuesday)");
    assert!(!s.matches(at(2026, 12, 8, 4, 30)));
    // names, Sunday as 7, macros
    assert_eq!(
        Schedule::parse("0 0 * jan-mar sun").unwrap().minutes,
        Schedule::parse("0 0 * 1-3 7").unwrap().minutes
    );
    assert!(
        Schedule::parse("0 0 * 1-3 7")
            .unwrap()
            .matches(at(2027, 1, 3, 0, 0))
    );
    assert_eq!(
        Schedule::parse("@daily")
            .unwrap()
            .next(at(2026, 11, 30, 5, 0)),
        Some(at(2026, 12, 1, 0, 0))
    );
    // 29 February comes every four years
    let s = Schedule::parse("0 12 29 2 *").unwrap();
    assert_eq!(s.next(at(2025, 3, 1, 0, 0)), Some(at(2028, 2, 29, 12, 0)));
    assert_eq!(s.prev(at(2027, 3, 1, 0, 0)), Some(at(2024, 2, 29, 12, 0)));
    // a day that never comes
    assert_eq!(Schedule::parse("0 0 31 2 *").unwrap().next(0), None);
}

#[test]
fn mistakes_are_named() {
    for (e, why) in [
        ("59 0 * *", "4 fields"),
        ("60 0 * * *", "60 is outside 0-59"),
        ("0 24 * * *", "24 is outside 0-23"),
        ("0 0 0 * *", "0 is outside 1-31"),
        ("0 0 * 13 *", "13 is outside 1-12"),
        ("0 0 * * 8", "8 is outside 0-7"),
        ("*/0 * * * *", "a step of 0"),
        ("5-1 * * * *", "runs backwards"),
        ("a * * * *", "`a` is not a number"),
        ("0 0 * foo *", "not a number or a name"),
        ("1,,2 * * * *", "an empty list item"),
        ("@often", "unknown macro"),
    ] {
        let err = Schedule::parse(e).unwrap_err().to_string();
        assert!(err.contains(why), "{e}: {err}");
    }
}

fn reference_matches(s: &Schedule, t: i64) -> bool {
    s.matches(t)
}

proptest! {
    #[test]
    fn prev_and_next_agree_with_a_minute_by_minute_search(
        m in prop::sample::select(vec!["*", "0", "59", "*/15", "5,35", "10-20/5"]),
        h in prop::sample::select(vec!["*", "0", "23", "*/6", "1-3"]),
        dom in prop::sample::select(vec!["*", "1", "15", "31", "1-7", "*/10"]),
        mon in prop::sample::select(vec!["*", "2", "jun-aug", "*/4"]),
        dow in prop::sample::select(vec!["*", "0", "1-5", "sat,sun", "7"]),
        t in 1_700_000_000i64..1_900_000_000,
    ) {
        let s = Schedule::parse(&format!("{m} {h} {dom} {mon} {dow}")).unwrap();
        let minute = t - t.rem_euclid(60);
        if let Some(p) = s.prev(t) {
            prop_assert!(p <= t && reference_matches(&s, p));
            // nothing fires between p and t (checked over a bounded span)
            let mut x = minute;
            while x > p && minute - x < 40 * 86_400 {
                prop_assert!(!reference_matches(&s, x), "{} fires at {} after prev {}", s, x, p);
                x -= 60;
            }
        }
        if let Some(n) = s.next(t) {
            prop_assert!(n > t && reference_matches(&s, n));
            let mut x = minute + 60;
            while x < n && x - minute < 40 * 86_400 {
                prop_assert!(!reference_matches(&s, x), "{} fires at {} before next {}", s, x, n);
                x += 60;
            }
        }
    }
}
