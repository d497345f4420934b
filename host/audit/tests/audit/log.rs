//! Appending from many threads, segment rolls, reopening, and repairing a torn tail after a crash.

use std::collections::HashSet;
use std::sync::Arc;

use tessera_audit::{AuditConfig, AuditLog, verify};

use crate::{all_rows, check, fill, keys, line_of, lines, open, segment};

#[test]
fn a_thousand_entries_from_eight_threads_verify_and_are_numbered_without_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(open(dir.path(), 300));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for i in 0..125 {
                    log.append(check(&format!("t{t}-{i}"), true, i)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    log.flush().unwrap();

    let report = verify(dir.path(), keys().public()).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!((report.entries, report.ok_entries), (1000, 1000));
    assert_eq!(
        (report.first_seq, report.last_seq, report.signed_through),
        (Some(1), Some(1000), Some(1000))
    );
    assert_eq!(report.segments, 4, "300 entries per segment");

    let rows = all_rows(&log);
    let numbers: Vec<u64> = rows.iter().map(|r| r.number).collect();
    assert_eq!(numbers, (1..=1000).collect::<Vec<_>>());
    assert!(
        rows.iter()
            .all(|r| r.sig_check == "OK" && r.missing_line == "OK")
    );
    let users: HashSet<_> = rows.iter().filter_map(|r| r.user.clone()).collect();
    assert_eq!(
        users.len(),
        1000,
        "every appended entry is there exactly once"
    );
}

#[test]
fn reopening_continues_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    fill(&open(dir.path(), 7), 1, 10, 4);
    let log = open(dir.path(), 7);
    fill(&log, 11, 10, 3);
    let report = log.verify().unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!((report.entries, report.last_seq), (20, Some(20)));
    assert_eq!(
        log.search(&Default::default(), crate::at(0)).unwrap().count,
        20
    );
}

#[test]
fn a_second_writer_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _log = open(dir.path(), 100);
    let second = AuditLog::open(dir.path(), keys(), AuditConfig::default());
    assert!(second.unwrap_err().to_string().contains("in use"));
}

#[test]
fn a_torn_entry_line_is_cut_at_open_and_the_entries_before_it_verify() {
    let dir = tempfile::tempdir().unwrap();
    fill(&open(dir.path(), 100), 1, 10, 10);
    // Simulated crash: the write of the batch stopped in the middle of entry 8's line.
    let path = segment(dir.path(), 1);
    let text = std::fs::read_to_string(&path).unwrap();
    let at = text.find("{\"seq\":8,").unwrap() + 40;
    std::fs::write(&path, &text[..at]).unwrap();

    let log = open(dir.path(), 100);
    let report = log.verify().unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(
        (report.entries, report.last_seq, report.signed_through),
        (7, Some(7), Some(7))
    );

    fill(&log, 8, 3, 3);
    let report = log.verify().unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(
        (report.entries, report.ok_entries, report.last_seq),
        (10, 10, Some(10))
    );
    assert!(
        all_rows(&log)
            .iter()
            .all(|r| r.sig_check == "OK" && r.missing_line == "OK")
    );
}

#[test]
fn a_torn_checkpoint_and_zero_filled_tail_are_cut_at_open() {
    let dir = tempfile::tempdir().unwrap();
    fill(&open(dir.path(), 100), 1, 5, 5);
    let path = segment(dir.path(), 1);
    let mut bytes = std::fs::read(&path).unwrap();
    // The checkpoint line loses its end, and the file system left zeros after it.
    bytes.truncate(bytes.len() - 100);
    bytes.extend_from_slice(&[0u8; 4096]);
    std::fs::write(&path, &bytes).unwrap();

    let log = open(dir.path(), 100);
    let report = log.verify().unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!((report.entries, report.ok_entries), (5, 5));
    assert!(!std::fs::read(&path).unwrap().contains(&0));
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("reopened after a crash")),
        "{report}"
    );
    let kept = lines(&path);
    assert!(kept.iter().all(|l| l.starts_with('{') && l.ends_with('}')));
    assert!(
        line_of(&kept, 5) < kept.len() - 1,
        "a checkpoint follows entry 5"
    );
}

#[test]
fn unsigned_entries_at_the_end_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    fill(&open(dir.path(), 100), 1, 6, 3);
    // Someone appends a well-formed entry line that no checkpoint signs, or drops the last checkpoint.
    let path = segment(dir.path(), 1);
    let mut l = lines(&path);
    l.pop();
    crate::write_lines(&path, &l);
    let report = verify(dir.path(), keys().public()).unwrap();
    // Batches are whatever the writer found queued, so the last checkpoint left is at 3, 4 or 5.
    let signed = report.signed_through.unwrap();
    assert!((3..6).contains(&signed), "{report}");
    let kinds: Vec<_> = report.problems.iter().map(|p| (p.kind, p.seq)).collect();
    assert_eq!(
        kinds,
        vec![(tessera_audit::ProblemKind::UnsignedTail, Some(signed + 1))],
        "{report}"
    );
}
