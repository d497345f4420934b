//! Time as a parameter: the server's clock and a settable clock for tests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where the core gets "now". Plugins never read a clock; the core passes this time in.
pub trait Clock: Send + Sync + 'static {
    /// Unix time in seconds with fractions.
    fn now(&self) -> f64;
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> f64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    }
}

/// A clock that stands still until told otherwise (tests).
#[derive(Debug, Default)]
pub struct FixedClock(AtomicU64);

impl FixedClock {
    pub fn new(unix_secs: f64) -> Self {
        FixedClock(AtomicU64::new(unix_secs.to_bits()))
    }
    pub fn set(&self, unix_secs: f64) {
        self.0.store(unix_secs.to_bits(), Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::SeqCst))
    }
}

/// privacyIDEA's timestamp text, e.g. `2026-12-03 16:38:40.718388+00:00` (UTC).
pub fn format_timestamp(unix: f64) -> String {
    let secs = unix.floor() as i64;
    let micros = ((unix - secs as f64) * 1_000_000.0)
        .round()
        .clamp(0.0, 999_999.0) as u32;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{micros:06}+00:00",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
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

/// The inverse of `format_timestamp` (also accepts no fraction and a `T` separator); `None` if the
/// text is not such a timestamp.
pub fn parse_timestamp(text: &str) -> Option<f64> {
    let text = text.trim().trim_end_matches("+00:00");
    let (date, time) = text.split_once([' ', 'T'])?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (h, min, s) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || min > 59 || s > 60 {
        return None;
    }
    let frac: f64 = format!("0.{frac}").parse().ok()?;
    let days = days_from_civil(y, m, day);
    Some((days * 86_400 + h * 3600 + min * 60 + s) as f64 + frac)
}

/// (year, month, day) to days since 1970-01-01 (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_back() {
        for t in [0.0, 951_782_400.0, 1_796_315_920.718_388] {
            let back = parse_timestamp(&format_timestamp(t)).unwrap();
            assert!((back - t).abs() < 1e-5, "{t} -> {back}");
        }
        assert_eq!(
            parse_timestamp("2026-12-03T16:38:46"),
            Some(1_796_315_926.0)
        );
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp("2026-13-03 00:00:00"), None);
    }

    #[test]
    fn timestamps_match_privacyidea_format() {
        assert_eq!(format_timestamp(0.0), "1970-01-01 00:00:00.000000+00:00");
        // 2026-12-03 16:38:40.718388 UTC (57-token-list-after-fails.json)
        assert_eq!(
            format_timestamp(1_796_315_920.718_388),
            "2026-12-03 16:38:40.718388+00:00"
        );
        assert_eq!(
            format_timestamp(951_782_400.0),
            "2000-02-29 00:00:00.000000+00:00"
        );
    }
}
