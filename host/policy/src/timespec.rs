//! A policy's `time` attribute: weekday and clock ranges in UTC (`Mon-Fri: 9-18, Sat: 10:30-12`).
//! Outside its ranges a policy is invisible.

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// One range: a set of weekdays (bit 0 = Monday) and a clock interval, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimeRange {
    days: u8,
    start: u32,
    end: u32,
}

/// Weekday (0 = Monday) and second of the day of a Unix time, in UTC.
pub(crate) fn weekday_and_second(now_unix: i64) -> (u8, u32) {
    let days = now_unix.div_euclid(86_400);
    let second = now_unix.rem_euclid(86_400);
    // 1970-01-01 was a Thursday (3).
    ((days + 3).rem_euclid(7) as u8, second as u32)
}

/// Whether a moment falls in one of the ranges.
pub(crate) fn in_ranges(ranges: &[TimeRange], weekday: u8, second: u32) -> bool {
    ranges
        .iter()
        .any(|r| r.days & (1 << weekday) != 0 && r.start <= second && second <= r.end)
}

/// Parses a `time` attribute. Empty means "always" (no ranges). Entries are separated by commas:
/// `<day>[-<day>]: <hh>[:<mm>]-<hh>[:<mm>]`, days as `Mon` .. `Sun` (a range may wrap, `Sat-Mon`),
/// the end of the clock range included (`9-18` is 09:00:00 to 18:00:00; `24` ends with the day).
pub(crate) fn parse(spec: &str) -> Result<Vec<TimeRange>, String> {
    let mut out = Vec::new();
    for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        out.push(parse_entry(entry).map_err(|why| {
            format!(
                "Time '{entry}' is invalid: {why}. Write ranges like 'Mon-Fri: 9-18, Sat: 10:30-12' (UTC)"
            )
        })?);
    }
    Ok(out)
}

fn parse_entry(entry: &str) -> Result<TimeRange, String> {
    let (days, clock) = entry
        .split_once(':')
        .ok_or("expected '<days>: <from>-<to>'")?;
    let days = match days.trim().split_once('-') {
        None => 1 << day(days)?,
        Some((first, last)) => {
            let (first, last) = (day(first)?, day(last)?);
            let mut mask = 0u8;
            let mut d = first;
            loop {
                mask |= 1 << d;
                if d == last {
                    break;
                }
                d = (d + 1) % 7;
            }
            mask
        }
    };
    let (from, to) = clock
        .trim()
        .split_once('-')
        .ok_or("expected a clock range like 9-18 or 10:30-12")?;
    let (start, end) = (clock_time(from)?, clock_time(to)?);
    if start > end {
        return Err(
            "it ends before it starts; split a range over midnight into two, \
                    like 'Mon: 22-24, Tue: 0-6'"
                .into(),
        );
    }
    Ok(TimeRange { days, start, end })
}

fn day(name: &str) -> Result<u8, String> {
    let lower = name.trim().to_ascii_lowercase();
    DAYS.iter()
        .position(|d| *d == lower)
        .map(|i| i as u8)
        .ok_or_else(|| {
            format!(
                "'{}' is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)",
                name.trim()
            )
        })
}

/// Seconds since midnight of `hh` or `hh:mm`; `24` / `24:00` is the end of the day.
fn clock_time(text: &str) -> Result<u32, String> {
    let text = text.trim();
    let bad = || format!("'{text}' is not a time of day like 9, 18 or 10:30");
    let (h, m) = text.split_once(':').unwrap_or((text, "0"));
    let digits = |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || !digits(m) {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    match (h, m) {
        (24, 0) => Ok(86_399),
        (0..=23, 0..=59) => Ok(h * 3600 + m * 60),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-01-01 00:00:00 UTC, a Monday.
    const MONDAY: i64 = 1_704_067_200;

    fn at(day: i64, h: i64, m: i64, s: i64) -> i64 {
        MONDAY + day * 86_400 + h * 3600 + m * 60 + s
    }

    fn visible(spec: &str, when: i64) -> bool {
        let ranges = parse(spec).unwrap();
        let (d, s) = weekday_and_second(when);
        ranges.is_empty() || in_ranges(&ranges, d, s)
    }

    #[test]
    fn weekday_of_known_dates() {
        assert_eq!(weekday_and_second(0), (3, 0), "1970-01-01 was a Thursday");
        assert_eq!(weekday_and_second(MONDAY), (0, 0));
        assert_eq!(weekday_and_second(at(6, 23, 59, 59)), (6, 86_399));
        assert_eq!(
            weekday_and_second(-1),
            (2, 86_399),
            "1969-12-31 23:59:59, a Wednesday"
        );
    }

    #[test]
    fn ranges_in_and_out() {
        let spec = "Mon-Fri: 9-18, Sat: 10:30-12";
        let table = [
            (at(0, 9, 0, 0), true),
            (at(0, 8, 59, 59), false),
            (at(2, 18, 0, 0), true),
            (at(2, 18, 0, 1), false),
            (at(4, 12, 0, 0), true),
            (at(5, 10, 29, 59), false),
            (at(5, 10, 30, 0), true),
            (at(5, 12, 0, 0), true),
            (at(5, 12, 1, 0), false),
            (at(6, 11, 0, 0), false),
        ];
        for (when, want) in table {
            assert_eq!(visible(spec, when), want, "{:?}", weekday_and_second(when));
        }
        assert!(visible("", at(6, 3, 0, 0)), "no time: always");
        assert!(
            visible("Sat-Mon: 0-24", at(6, 23, 59, 59)),
            "wrapping day range"
        );
        assert!(visible("sat-mon: 0-24", at(0, 0, 0, 0)));
        assert!(!visible("Sat-Mon: 0-24", at(1, 12, 0, 0)));
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        let table = [
            ("Mon 9-18", "expected '<days>: <from>-<to>'"),
            ("Mo-Fr: 9-18", "'Mo' is not a day"),
            ("Mon: 9", "expected a clock range"),
            ("Mon: 9-25", "'25' is not a time of day"),
            ("Mon: 9:60-10", "'9:60' is not a time of day"),
            ("Mon: 18-9", "it ends before it starts"),
            ("Mon: x-9", "'x' is not a time of day"),
        ];
        for (spec, part) in table {
            let err = parse(spec).unwrap_err();
            assert!(err.contains(part), "{spec}: {err}");
            assert!(
                err.starts_with(&format!("Time '{spec}' is invalid: ")),
                "{err}"
            );
        }
    }
}
