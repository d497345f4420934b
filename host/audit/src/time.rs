//! Audit timestamps (UTC, microseconds) in privacyIDEA's ISO text, and `timelimit` durations (`1d`, `2h`, `30m`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::AuditError;

const MICROS: i64 = 1_000_000;

/// A point in time: microseconds since the Unix epoch, UTC.
/// Written as privacyIDEA writes audit dates: `2026-12-03T16:38:46.654949` (no zone; always UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// From Unix seconds with fractions (what `tessera_core::Clock::now` returns).
    pub fn from_unix(secs: f64) -> Timestamp {
        Timestamp((secs * MICROS as f64).round() as i64)
    }

    /// Unix seconds with fractions.
    pub fn as_unix(self) -> f64 {
        self.0 as f64 / MICROS as f64
    }

    /// This time moved back by `micros` (saturating).
    pub fn minus_micros(self, micros: i64) -> Timestamp {
        Timestamp(self.0.saturating_sub(micros))
    }

    /// Seconds from `earlier` to `self` (privacyIDEA's `duration` column).
    pub fn seconds_since(self, earlier: Timestamp) -> f64 {
        (self.0 - earlier.0) as f64 / MICROS as f64
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.ffffff]` (a space instead of `T` is accepted too).
    pub fn parse(text: &str) -> Option<Timestamp> {
        let b = text.as_bytes();
        if b.len() < 19 || !matches!(b[10], b'T' | b' ') {
            return None;
        }
        let num = |range: std::ops::Range<usize>| -> Option<i64> {
            let part = text.get(range)?;
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        let mut micros = 0;
        if b.len() > 19 {
            let frac = text.get(20..)?;
            if b[19] != b'.' || frac.is_empty() || frac.len() > 6 {
                return None;
            }
            micros = num(20..b.len())? * 10_i64.pow(6 - frac.len() as u32);
        }
        let days = days_from_civil(y, mo as u32, d as u32);
        let secs = days * 86_400 + h * 3600 + mi * 60 + s;
        Some(Timestamp(secs * MICROS + micros))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(MICROS);
        let micros = self.0.rem_euclid(MICROS);
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let rem = secs.rem_euclid(86_400);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}",
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("bad timestamp {text:?}")))
    }
}

/// Parses privacyIDEA's `timelimit` (`30s`, `30m`, `2h`, `1d`, `1w`) into microseconds.
pub fn parse_timelimit(text: &str) -> Result<i64, AuditError> {
    let text = text.trim();
    let bad = || AuditError::BadParameter(format!("timelimit {text:?}: expected e.g. 1d, 2h, 30m"));
    let unit = text.chars().last().ok_or_else(bad)?;
    let secs_per = match unit.to_ascii_lowercase() {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return Err(bad()),
    };
    let n: i64 = text[..text.len() - 1].parse().map_err(|_| bad())?;
    if n < 0 {
        return Err(bad());
    }
    n.checked_mul(secs_per * MICROS).ok_or_else(bad)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since 1970-01-01 (the inverse of `civil_from_days`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from(if m > 2 { m - 3 } else { m + 9 });
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(unix: f64, text: &str) {
        let t = Timestamp::from_unix(unix);
        assert_eq!(t.to_string(), text);
        assert_eq!(Timestamp::parse(text), Some(t), "{text}");
    }

    #[test]
    fn dates_in_privacyidea_iso_form() {
        check(0.0, "1970-01-01T00:00:00.000000");
        // capture 97: `date` of entry 70; `time` of the answer is 1796315926.809465
        check(1_796_315_926.654_949, "2026-12-03T16:38:46.654949");
        check(951_782_400.0, "2000-02-29T00:00:00.000000");
        check(-1.5, "1969-12-31T23:59:58.500000");
        assert_eq!(
            Timestamp::parse("2026-12-03 16:38:46"),
            Timestamp::parse("2026-12-03T16:38:46.000000")
        );
        assert_eq!(
            Timestamp::parse("2026-12-03T16:38:46.5"),
            Timestamp::parse("2026-12-03T16:38:46.500000")
        );
        for bad in [
            "",
            "2026-13-03T16:38:46",
            "2026-12-03X16:38:46",
            "2026-12-03T16:38:46.",
            "x",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn timelimits() {
        assert_eq!(parse_timelimit("1d").ok(), Some(86_400_000_000));
        assert_eq!(parse_timelimit("2h").ok(), Some(7_200_000_000));
        assert_eq!(parse_timelimit("30m").ok(), Some(1_800_000_000));
        assert_eq!(parse_timelimit("10s").ok(), Some(10_000_000));
        for bad in ["", "d", "1x", "-1d", "1.5h", "99999999999999999d"] {
            assert!(parse_timelimit(bad).is_err(), "{bad}");
        }
    }
}
