//! tessera-audit's scenarios on real files in temporary directories: concurrency, tampering, retention,
//! crash repair, search, keys and response signatures. One test binary, one module per area.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod keys;
mod log;
mod retention;
mod search;
mod tamper;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tessera_audit::{AuditConfig, AuditKeys, AuditLog, Entry, SearchQuery, SortOrder, Timestamp};

/// The throwaway key in testdata/ (written by privacyIDEA's key generator, PKCS#1).
pub fn keys() -> AuditKeys {
    static KEYS: OnceLock<AuditKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        AuditKeys::from_pem(include_str!("../../testdata/test-private.pem")).unwrap()
    })
    .clone()
}

/// 2026-12-03T16:38:46 UTC (capture 97) plus `minutes`.
pub fn at(minutes: i64) -> Timestamp {
    Timestamp::from_unix(1_796_315_926.0 + minutes as f64 * 60.0)
}

/// A `/validate/check` entry as the server would write it.
pub fn check(user: &str, success: bool, minutes: i64) -> Entry {
    let mut e = Entry::new(
        "POST /validate/check",
        at(minutes),
        at(minutes).minus_micros(-48_204),
    );
    e.success = success;
    e.authentication = Some(if success { "ACCEPT" } else { "REJECT" }.into());
    e.user = Some(user.into());
    e.realm = Some("realm1".into());
    e.resolver = Some("flat1".into());
    e.serial = Some(format!("OATH{user}"));
    e.token_type = Some("hotp".into());
    e.info = Some(
        if success {
            "matching 1 tokens"
        } else {
            "wrong otp value"
        }
        .into(),
    );
    e.client = Some("127.0.0.1".into());
    e.user_agent = Some("curl/8.5.0".into());
    e.action_detail = Some(String::new());
    e.policies = Some(String::new());
    e.privacyidea_server = Some("node1".into());
    e
}

pub fn open(dir: &Path, segment_entries: u64) -> AuditLog {
    let config = AuditConfig {
        segment_entries,
        ..AuditConfig::default()
    };
    AuditLog::open(dir, keys(), config).unwrap()
}

/// Appends `n` entries for users `u1..=un` at minutes 1..=n, flushing every `batch` entries.
pub fn fill(log: &AuditLog, from: u64, n: u64, batch: u64) {
    for i in from..from + n {
        log.append(check(&format!("u{i}"), i % 3 != 0, i as i64))
            .unwrap();
        if (i - from + 1).is_multiple_of(batch) {
            log.flush().unwrap();
        }
    }
    log.flush().unwrap();
}

/// Every row, oldest first.
pub fn all_rows(log: &AuditLog) -> Vec<tessera_audit::AuditRow> {
    let q = SearchQuery {
        page_size: 10_000,
        sortorder: SortOrder::Asc,
        ..SearchQuery::default()
    };
    log.search(&q, at(0)).unwrap().rows
}

pub fn segment(dir: &Path, index: u64) -> PathBuf {
    dir.join(format!("audit-{index:06}.jsonl"))
}

/// The lines of a segment file.
pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Index of the line holding entry `seq`.
pub fn line_of(lines: &[String], seq: u64) -> usize {
    let prefix = format!("{{\"seq\":{seq},");
    lines.iter().position(|l| l.starts_with(&prefix)).unwrap()
}

pub fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(
        path,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
}
