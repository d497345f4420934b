//! Retention deletes whole old segments; the rest still verifies, and deletions retention did not make show.

use tessera_audit::{AuditConfig, AuditLog, ProblemKind, Retention, verify};

use crate::{all_rows, at, check, fill, keys, open, segment};

fn kinds(dir: &std::path::Path) -> Vec<ProblemKind> {
    verify(dir, keys().public())
        .unwrap()
        .problems
        .iter()
        .map(|p| p.kind)
        .collect()
}

#[test]
fn rotation_by_count_keeps_the_newest_segments_verifiable() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 10);
    fill(&log, 1, 55, 55);
    // Segments: 1..=10, 11..=20, 21..=30, 31..=40, 41..=50, 51..=55 (being written).
    let rotated = log
        .rotate(
            &Retention {
                max_entries: Some(25),
                max_age_days: None,
            },
            at(0),
        )
        .unwrap();
    assert_eq!(
        rotated.deleted_segments,
        vec![
            segment(dir.path(), 1),
            segment(dir.path(), 2),
            segment(dir.path(), 3)
        ]
    );
    assert_eq!(
        (rotated.deleted_entries, rotated.starts_after_seq),
        (30, 30)
    );

    let report = log.verify().unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(
        (report.entries, report.first_seq, report.last_seq),
        (25, Some(31), Some(55))
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("deleted by retention")),
        "{report}"
    );
    let rows = all_rows(&log);
    assert_eq!(rows.first().map(|r| r.number), Some(31));
    assert!(
        rows.iter()
            .all(|r| r.sig_check == "OK" && r.missing_line == "OK")
    );

    // The log goes on after rotation; a second rotation with nothing to do changes nothing.
    fill(&log, 56, 5, 5);
    let again = log
        .rotate(
            &Retention {
                max_entries: Some(25),
                max_age_days: None,
            },
            at(0),
        )
        .unwrap();
    assert_eq!(
        again.deleted_segments.len(),
        1,
        "31..=40 goes: 30 entries > 25"
    );
    assert!(log.verify().unwrap().is_ok());
}

#[test]
fn a_segment_deleted_by_hand_is_not_mistaken_for_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 10);
    fill(&log, 1, 45, 45);
    log.rotate(
        &Retention {
            max_entries: Some(30),
            max_age_days: None,
        },
        at(0),
    )
    .unwrap();
    // 45 > 30 and 35 > 30: segments 1 and 2 go; 3..=5 hold 21..=45. Deleting a middle one:
    std::fs::remove_file(segment(dir.path(), 4)).unwrap();
    assert_eq!(kinds(dir.path()), vec![ProblemKind::MissingSegment]);
    let rows = all_rows(&log);
    let broken: Vec<u64> = rows
        .iter()
        .filter(|r| r.missing_line == "FAIL")
        .map(|r| r.number)
        .collect();
    assert_eq!(broken, vec![41]);
    // Deleting the oldest kept one too: no retention record explains where the log now starts.
    std::fs::remove_file(segment(dir.path(), 3)).unwrap();
    assert_eq!(kinds(dir.path()), vec![ProblemKind::DeletedHead]);
}

#[test]
fn rotation_by_age_deletes_segments_whose_newest_entry_is_too_old() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 10);
    let day = 24 * 60;
    for i in 0..30 {
        // Segment 1: day 1, segment 2: day 5, segment 3: day 10 (checkpoints carry the newest date).
        let when = [day, 5 * day, 10 * day][i / 10];
        log.append(check(&format!("u{i}"), true, when)).unwrap();
    }
    log.append(check("newest", true, 10 * day)).unwrap();
    log.flush().unwrap();
    let rotated = log
        .rotate(
            &Retention {
                max_age_days: Some(3),
                max_entries: None,
            },
            at(10 * day),
        )
        .unwrap();
    assert_eq!(
        rotated.deleted_segments,
        vec![segment(dir.path(), 1), segment(dir.path(), 2)]
    );
    let report = log.verify().unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!((report.first_seq, report.last_seq), (Some(21), Some(31)));
}

#[test]
fn retention_in_the_config_runs_when_a_segment_fills() {
    let dir = tempfile::tempdir().unwrap();
    let config = AuditConfig {
        segment_entries: 10,
        retention: Retention {
            max_entries: Some(15),
            max_age_days: None,
        },
        ..AuditConfig::default()
    };
    let log = AuditLog::open(dir.path(), keys(), config).unwrap();
    fill(&log, 1, 45, 45);
    let report = log.verify().unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.last_seq, Some(45));
    assert!(
        report.entries <= 25 && report.first_seq > Some(1),
        "{report}"
    );
    assert!(!segment(dir.path(), 1).exists());
}
