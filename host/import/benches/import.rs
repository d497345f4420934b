//! Import throughput: tokens/s for a 100 000-row OATH CSV and a 10 000-key PSK-encrypted PSKC, and peak memory.
//! Run: `cargo bench -p tessera-import --bench import`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::BufReader;
use std::time::Instant;

use common::{OathCsvGen, PSK_HEX, PskcSpec, pskc_file};
use tessera_import::{Format, Secret, open};

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn report(what: &str, tokens: usize, seconds: f64) {
    println!(
        "{what}: {tokens} tokens in {:.3} s = {:.0} tokens/s (peak RSS so far {} KiB)",
        seconds,
        tokens as f64 / seconds,
        peak_rss_kib()
    );
}

fn main() {
    // OATH CSV, generated while it is read: the importer's own memory is what shows in the peak.
    let start = Instant::now();
    let reader = BufReader::new(OathCsvGen::new(100_000));
    let n = open(Format::OathCsv, reader, Secret::None)
        .unwrap()
        .filter(Result::is_ok)
        .count();
    report("oathcsv 100000 rows", n, start.elapsed().as_secs_f64());

    // PSKC with AES-128-CBC secrets and HMAC-SHA1 ValueMACs (the file itself is ~10 MB in memory).
    let xml = pskc_file(&PskcSpec {
        keys: 10_000,
        sha256_mac: false,
        bad_mac: None,
        totp: false,
    });
    let start = Instant::now();
    let psk = Secret::psk_hex(PSK_HEX).unwrap();
    let n = open(Format::Pskc, xml.as_bytes(), psk)
        .unwrap()
        .filter(Result::is_ok)
        .count();
    report(
        "pskc 10000 keys, psk-encrypted",
        n,
        start.elapsed().as_secs_f64(),
    );
}
