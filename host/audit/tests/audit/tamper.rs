//! Edits an attacker with write access to the files could make, and how verify and search show them.

use sha2::{Digest, Sha256};
use tessera_audit::{Entry, ProblemKind, verify};

use crate::{all_rows, fill, keys, line_of, lines, open, segment, write_lines};

fn problems(dir: &std::path::Path) -> Vec<(ProblemKind, Option<u64>)> {
    let report = verify(dir, keys().public()).unwrap();
    report.problems.iter().map(|p| (p.kind, p.seq)).collect()
}

fn marks(
    rows: &[tessera_audit::AuditRow],
    pick: fn(&tessera_audit::AuditRow) -> &'static str,
) -> Vec<u64> {
    rows.iter()
        .filter(|r| pick(r) == "FAIL")
        .map(|r| r.number)
        .collect()
}

#[test]
fn one_flipped_byte_in_a_value_fails_that_entry_only() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 100);
    fill(&log, 1, 20, 5);
    let path = segment(dir.path(), 1);
    let mut l = lines(&path);
    let i = line_of(&l, 7);
    assert!(l[i].contains("\"user\":\"u7\""));
    l[i] = l[i].replace("\"user\":\"u7\"", "\"user\":\"u8\"");
    write_lines(&path, &l);

    assert_eq!(problems(dir.path()), vec![(ProblemKind::BadHash, Some(7))]);
    let rows = all_rows(&log);
    assert_eq!(rows.len(), 20);
    assert_eq!(marks(&rows, |r| r.sig_check), vec![7]);
    assert_eq!(marks(&rows, |r| r.missing_line), Vec::<u64>::new());
    assert_eq!(
        rows[6].user.as_deref(),
        Some("u8"),
        "search shows what is stored, marked FAIL"
    );
}

#[test]
fn a_deleted_line_marks_the_next_entry_missing_line_fail() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 100);
    fill(&log, 1, 20, 5);
    let path = segment(dir.path(), 1);
    let mut l = lines(&path);
    l.remove(line_of(&l, 7));
    write_lines(&path, &l);

    assert_eq!(
        problems(dir.path()),
        vec![(ProblemKind::MissingEntries, Some(8))]
    );
    let rows = all_rows(&log);
    assert_eq!(rows.len(), 19);
    assert_eq!(marks(&rows, |r| r.missing_line), vec![8]);
    assert_eq!(marks(&rows, |r| r.sig_check), Vec::<u64>::new());
    // Newest first reads the files backwards and must find the same.
    let desc = log
        .search(
            &tessera_audit::SearchQuery {
                page_size: 100,
                ..Default::default()
            },
            crate::at(0),
        )
        .unwrap();
    assert_eq!(marks(&desc.rows, |r| r.missing_line), vec![8]);
}

/// What a careful attacker does: change entry 7 and recompute every hash after it (the format is public).
#[test]
fn a_rewritten_and_rechained_entry_fails_the_checkpoint_signature() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 100);
    fill(&log, 1, 15, 5);
    let path = segment(dir.path(), 1);
    let mut l = lines(&path);
    let mut prev: Option<String> = None;
    for line in l.iter_mut() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let Some(seq) = v.get("seq").and_then(|s| s.as_u64()) else {
            continue;
        };
        if seq < 7 {
            continue;
        }
        let mut entry: Entry = serde_json::from_value(v["entry"].clone()).unwrap();
        if seq == 7 {
            entry.success = true;
            entry.user = Some("mallory".into());
        }
        let prev_hex = prev
            .clone()
            .unwrap_or_else(|| v["prev"].as_str().unwrap().to_string());
        let mut h = Sha256::new();
        h.update(hex::decode(&prev_hex).unwrap());
        h.update(seq.to_be_bytes());
        h.update(serde_json::to_vec(&entry).unwrap());
        let new_h = hex::encode(h.finalize());
        *line = format!(
            "{{\"seq\":{seq},\"prev\":\"{prev_hex}\",\"h\":\"{new_h}\",\"entry\":{}}}",
            serde_json::to_string(&entry).unwrap()
        );
        prev = Some(new_h);
    }
    write_lines(&path, &l);

    let found = problems(dir.path());
    assert!(!found.is_empty());
    assert!(
        found
            .iter()
            .all(|(k, seq)| *k == ProblemKind::CheckpointMismatch && seq.unwrap() >= 7),
        "{found:?}"
    );
    let rows = all_rows(&log);
    assert_eq!(rows[6].user.as_deref(), Some("mallory"));
    let failed = marks(&rows, |r| r.sig_check);
    assert!((7..=15).all(|n| failed.contains(&n)), "{failed:?}");
    assert!(
        failed.iter().all(|n| *n >= 6),
        "batches after the first flush are untouched: {failed:?}"
    );
    assert_eq!(
        marks(&rows, |r| r.missing_line),
        Vec::<u64>::new(),
        "the links themselves are consistent"
    );
}

#[test]
fn a_forged_checkpoint_signature_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    fill(&open(dir.path(), 100), 1, 3, 3);
    let path = segment(dir.path(), 1);
    let mut l = lines(&path);
    let last = l.len() - 1;
    let sig_at = l[last].find("rsa_sha256_pss:").unwrap() + 20;
    let flipped = if &l[last][sig_at..sig_at + 1] == "0" {
        "1"
    } else {
        "0"
    };
    l[last].replace_range(sig_at..sig_at + 1, flipped);
    write_lines(&path, &l);
    let found = problems(dir.path());
    assert!(
        found.contains(&(ProblemKind::BadSignature, Some(3))),
        "{found:?}"
    );
    assert!(
        all_rows(&open(dir.path(), 100))
            .iter()
            .any(|r| r.sig_check == "FAIL")
    );
}
