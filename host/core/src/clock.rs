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

#[cfg(test)]
mod tests {
    use super::*;

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
