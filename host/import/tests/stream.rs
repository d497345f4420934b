//! A 100 000-token OATH CSV imports as a stream: read lazily, in bounded memory. (One test: it measures the process.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::cell::Cell;
use std::io::BufReader;
use std::rc::Rc;

use common::{Counting, OathCsvGen, secret_of};
use tessera_import::{Format, Secret, open};

/// Peak resident set size of this process in KiB (Linux `VmHWM`).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn hundred_thousand_oath_rows_stream_in_bounded_memory() {
    const ROWS: usize = 100_000;
    let before = peak_rss_kib();
    let taken = Rc::new(Cell::new(0));
    let reader = BufReader::with_capacity(
        8 * 1024,
        Counting {
            inner: OathCsvGen::new(ROWS),
            taken: Rc::clone(&taken),
        },
    );
    let mut importer = open(Format::OathCsv, reader, Secret::None).unwrap();
    let first = importer.next().unwrap().unwrap();
    assert_eq!((first.serial.as_str(), first.line), ("TOK00000000", 1));
    assert!(
        taken.get() <= 8 * 1024,
        "read {} bytes before the first token",
        taken.get()
    );

    let mut count = 1;
    let mut last = None;
    for item in importer {
        let token = item.unwrap();
        count += 1;
        last = Some(token);
    }
    assert_eq!(count, ROWS);
    let last = last.unwrap();
    assert_eq!(
        (last.serial.as_str(), last.line, last.counter),
        ("TOK00099999", ROWS, 99)
    );
    assert_eq!(&last.otpkey[..], &secret_of(ROWS - 1)[..]);
    assert!(
        taken.get() > 6_000_000,
        "the whole file was read: {} bytes",
        taken.get()
    );

    if let (Some(before), Some(after)) = (before, peak_rss_kib()) {
        // The file is about 6.5 MB; holding its tokens would take far more than this.
        assert!(
            after.saturating_sub(before) < 4 * 1024,
            "peak RSS grew {before} -> {after} KiB"
        );
    }
}
