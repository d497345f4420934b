//! `tessera audit verify` on a stopped server's segment file with one byte of an entry flipped and another
//! entry's line deleted, and what `GET /audit/` shows (`sig_check`, `missing_line`) after a restart.

use std::fs;
use std::path::PathBuf;

use serde_json::json;

use super::{assert_columns, audit, audit_verify, count, rows, text, wait_for_entries};
use crate::harness::{RFC_KEY, Server, hotp, setup_realm};
use crate::policies::enroll;

/// Line number (0-based) of entry `seq` in a segment's lines.
fn line_of(lines: &[Vec<u8>], seq: u64) -> usize {
    let prefix = format!("{{\"seq\":{seq},");
    lines
        .iter()
        .position(|l| l.starts_with(prefix.as_bytes()))
        .unwrap_or_else(|| panic!("no entry {seq}"))
}

#[test]
fn verify_names_an_edited_and_a_deleted_entry_and_search_marks_them() {
    let mut server = Server::start();
    let admin = server.admin(); // 1
    setup_realm(&server, &admin); // 2, 3, 4
    let serial = enroll(&admin, "hotp", RFC_KEY, "test", "alice"); // 5
    let anon = server.anon();
    anon.check(&[
        ("user", "alice"),
        ("pass", &format!("test{}", hotp(RFC_KEY, 0))),
    ])
    .expect_auth("ACCEPT", "matching 1 tokens"); // 6
    anon.check(&[("user", "alice"), ("pass", "test000000")])
        .expect_auth("REJECT", "wrong otp value"); // 7
    server.stop();

    // A clean stop writes and signs everything queued.
    let out = audit_verify(&server);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with("OK: 1 segments, entries 1..=7, 7 of 7 entries OK"),
        "{stdout}"
    );

    // Flip one bit of one byte inside entry 6: "matching" becomes "latching".
    let segment: PathBuf = server.data_dir().join("audit").join("audit-000001.jsonl");
    let original = fs::read(&segment).unwrap();
    let mut lines: Vec<Vec<u8>> = original
        .split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    let six = line_of(&lines, 6);
    let at = find(&lines[six], b"\"info\":\"matching").unwrap() + "\"info\":\"".len();
    lines[six][at] ^= 0x01;
    fs::write(&segment, lines.concat()).unwrap();
    let out = audit_verify(&server);
    let stdout = text(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.starts_with("FAILED: "), "{stdout}");
    let bad_hash = format!(
        "BadHash at entry 6 (audit-000001.jsonl line {}): content does not match its hash (edited)",
        six + 1
    );
    assert!(stdout.contains(&bad_hash), "{stdout}");
    assert!(
        text(&out.stderr).contains("does not verify"),
        "{}",
        text(&out.stderr)
    );

    // Delete entry 3's line as well: entry 4 is where the gap shows.
    let three = line_of(&lines, 3);
    lines.remove(three);
    fs::write(&segment, lines.concat()).unwrap();
    let out = audit_verify(&server);
    let stdout = text(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    let four = line_of(&lines, 4);
    let missing = format!(
        "MissingEntries at entry 4 (audit-000001.jsonl line {}): entry 3 is missing",
        four + 1
    );
    assert!(stdout.contains(&missing), "{stdout}");
    let bad_hash = bad_hash.replace(
        &format!("line {}", six + 1),
        &format!("line {}", line_of(&lines, 6) + 1),
    );
    assert!(stdout.contains(&bad_hash), "{stdout}");

    // The server starts on the damaged log and keeps appending; the search marks the damage.
    server.restart();
    let admin = server.admin();
    let listed = rows(&audit(&admin, &[("sortorder", "asc"), ("page_size", "6")]));
    let marks: Vec<(u64, &str, &str)> = listed
        .iter()
        .map(|r| {
            (
                r["number"].as_u64().unwrap(),
                r["sig_check"].as_str().unwrap(),
                r["missing_line"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(marks.len(), 6, "{marks:?}"); // entries 1, 2, 4, 5, 6, 7
    assert_eq!(marks[0], (1, "OK", "OK"));
    assert_eq!((marks[2].0, marks[2].2), (4, "FAIL"), "{marks:?}");
    assert_eq!((marks[3].0, marks[3].2), (5, "OK"), "{marks:?}");
    assert_eq!(
        (marks[4].0, marks[4].1, marks[4].2),
        (6, "FAIL", "OK"),
        "{marks:?}"
    );
    assert_eq!(marks[5], (7, "OK", "OK"), "{marks:?}");
    // The edited text is what the search shows, and an exact filter still finds the entry by number.
    let six = rows(&audit(&admin, &[("number", "6")]));
    assert_eq!(six.len(), 1);
    assert_columns(
        &six[0],
        &json!({"info": "latching 1 tokens", "serial": serial, "sig_check": "FAIL"}),
    );
    assert_eq!(count(&audit(&admin, &[("info", "matching 1 tokens")])), 0);

    // The entries written after the restart are chained and signed on top of the damaged log.
    let anon = server.anon();
    anon.check(&[
        ("user", "alice"),
        ("pass", &format!("test{}", hotp(RFC_KEY, 1))),
    ])
    .expect_auth("ACCEPT", "matching 1 tokens");
    wait_for_entries(&admin, "POST /validate/check", 3);
    let newest = rows(&audit(
        &admin,
        &[("action", "POST /validate/check"), ("page_size", "1")],
    ));
    assert_columns(
        &newest[0],
        &json!({"authentication": "ACCEPT", "sig_check": "OK", "missing_line": "OK"}),
    );
    server.stop();
    let stdout = text(&audit_verify(&server).stdout);
    assert!(
        stdout.contains(&missing) && stdout.contains(&bad_hash),
        "{stdout}"
    );

    // Putting the original bytes back makes the whole log verify again, new entries included.
    let mut restored = original.clone();
    let grown = fs::read(&segment).unwrap();
    restored.extend_from_slice(&grown[lines.concat().len()..]);
    fs::write(&segment, restored).unwrap();
    let out = audit_verify(&server);
    assert!(out.status.success(), "{}", text(&out.stdout));
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
