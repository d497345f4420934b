//! OTPs computed by the real `oathtool` binary, and the wait for a TOTP step boundary.

use std::process::Command;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The RFC 4226 test key (ASCII "12345678901234567890").
pub const RFC_KEY: &str = "3132333435363738393031323334353637383930";
/// The RFC 4226 key in unpadded base32, as the otpauth URI carries it.
pub const RFC_KEY_B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

fn oathtool(args: &[&str]) -> String {
    let out = Command::new("oathtool")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running oathtool: {e}"));
    assert!(
        out.status.success(),
        "oathtool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The 6-digit HOTP of `key_hex` at `counter`.
pub fn hotp(key_hex: &str, counter: u64) -> String {
    oathtool(&["--hotp", "-c", &counter.to_string(), key_hex])
}

/// The HOTPs of `key_hex` for counters `from..=to`.
pub fn hotp_range(key_hex: &str, from: u64, to: u64) -> Vec<String> {
    let window = (to - from).to_string();
    let all = oathtool(&["--hotp", "-c", &from.to_string(), "-w", &window, key_hex]);
    all.lines().map(str::to_string).collect()
}

/// The 6-digit TOTP of `key_hex` at unix time `unix` with a step of `step` seconds.
pub fn totp(key_hex: &str, unix: u64, step: u64) -> String {
    oathtool(&[
        "--totp",
        "-s",
        &step.to_string(),
        "-N",
        &format!("@{unix}"),
        "-d",
        "6",
        key_hex,
    ])
}

pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The current unix second, after waiting for the next step if fewer than 2 s of the current one
/// are left, so an OTP computed now is still current when the server checks it (twice).
pub fn now_with_step_margin(step: u64) -> u64 {
    let now = unix_now();
    let left = step as f64 - now % step as f64;
    if left < 2.0 {
        thread::sleep(Duration::from_secs_f64(left + 0.05));
    }
    unix_now() as u64
}
