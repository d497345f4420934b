//! `GET /audit/` semantics: filters, wildcards, paging, sort order, timelimit, and the answer's shape.

use serde_json::Value;
use tessera_audit::{AuditLog, Entry, SearchQuery};

use crate::{at, check, open};

/// 12 requests, one a minute: validate checks by alice and bob, and admin calls.
fn sample(dir: &std::path::Path) -> AuditLog {
    let log = open(dir, 5);
    for minute in 1..=12 {
        let e = match minute % 4 {
            0 => {
                let mut e = Entry::new("GET /token/", at(minute), at(minute));
                e.success = true;
                e.administrator = Some("admin".into());
                e.info = Some("realm: None".into());
                e
            }
            1 | 2 => check("alice", minute % 4 == 1, minute),
            _ => check("bob", false, minute),
        };
        log.append(e).unwrap();
    }
    log.flush().unwrap();
    log
}

fn numbers(log: &AuditLog, params: &[(&str, &str)], now_minute: i64) -> (Vec<u64>, u64) {
    let q = SearchQuery::from_params(params.iter().copied()).unwrap();
    let page = log.search(&q, at(now_minute)).unwrap();
    (page.rows.iter().map(|r| r.number).collect(), page.count)
}

#[test]
fn filters_wildcards_and_success() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample(dir.path());
    type Params<'a> = &'a [(&'a str, &'a str)];
    let cases: &[(Params, &[u64])] = &[
        (&[], &[12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]),
        (
            &[("action", "POST /validate/check")],
            &[11, 10, 9, 7, 6, 5, 3, 2, 1],
        ),
        (&[("action", "post /validate/check")], &[]),
        (&[("action", "*validate*")], &[11, 10, 9, 7, 6, 5, 3, 2, 1]),
        (&[("action", "GET*")], &[12, 8, 4]),
        (&[("user", "alice")], &[10, 9, 6, 5, 2, 1]),
        (&[("user", "ALI*")], &[10, 9, 6, 5, 2, 1]),
        (&[("user", "alice"), ("success", "1")], &[9, 5, 1]),
        (&[("success", "0")], &[11, 10, 7, 6, 3, 2]),
        (&[("administrator", "admin")], &[12, 8, 4]),
        (&[("serial", "*bob")], &[11, 7, 3]),
        (&[("info", "*tokens")], &[9, 5, 1]),
        (
            &[("authentication", "REJECT"), ("user", "bob")],
            &[11, 7, 3],
        ),
        (
            &[("user", "*"), ("realm", "")],
            &[12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1],
        ),
        (&[("number", "1*")], &[12, 11, 10, 1]),
        (
            &[("date", "2026-12-03T16:4*")],
            &[11, 10, 9, 8, 7, 6, 5, 4, 3, 2],
        ),
        (
            &[("nonsense", "x")],
            &[12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1],
        ),
        (&[("user", "carol")], &[]),
    ];
    for (params, want) in cases {
        let mut p = params.to_vec();
        p.push(("page_size", "100"));
        let (got, count) = numbers(&log, &p, 0);
        assert_eq!(
            (got.as_slice(), count),
            (*want, want.len() as u64),
            "{params:?}"
        );
    }
}

#[test]
fn paging_sort_order_and_timelimit() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample(dir.path());
    let q = SearchQuery::from_params([("page", "2"), ("page_size", "5")]).unwrap();
    let page = log.search(&q, at(0)).unwrap();
    assert_eq!(
        page.rows.iter().map(|r| r.number).collect::<Vec<_>>(),
        vec![7, 6, 5, 4, 3]
    );
    assert_eq!(
        (page.count, page.current, page.prev, page.next),
        (12, 2, Some(1), Some(3))
    );
    let q = SearchQuery::from_params([("page", "3"), ("page_size", "5"), ("sortorder", "asc")])
        .unwrap();
    let page = log.search(&q, at(0)).unwrap();
    assert_eq!(
        page.rows.iter().map(|r| r.number).collect::<Vec<_>>(),
        vec![11, 12]
    );
    assert_eq!((page.prev, page.next), (Some(2), None));
    let q = SearchQuery::from_params([("page", "9")]).unwrap();
    assert!(log.search(&q, at(0)).unwrap().rows.is_empty());

    // At minute 12, `30m` is everything; at minute 40 only the entries from minute 10 on.
    assert_eq!(numbers(&log, &[("timelimit", "30m")], 12).1, 12);
    assert_eq!(
        numbers(&log, &[("timelimit", "30m")], 40).0,
        vec![12, 11, 10]
    );
    assert_eq!(
        numbers(&log, &[("timelimit", "1d"), ("user", "bob")], 40).0,
        vec![11, 7, 3]
    );
    assert_eq!(numbers(&log, &[("timelimit", "1h")], 24 * 60).1, 0);
}

#[test]
fn the_answer_has_the_shape_of_privacyidea_capture_97() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample(dir.path());
    let q = SearchQuery::from_params([("page_size", "5")]).unwrap();
    let ours = log.search(&q, at(0)).unwrap().to_json();
    let capture: Value =
        serde_json::from_str(include_str!("../../testdata/97-audit.json")).unwrap();
    let theirs = &capture["response"]["result"]["value"];

    let columns = |v: &Value| v["auditcolumns"].as_array().unwrap().clone();
    assert_eq!(
        columns(&ours)[..21],
        columns(theirs)[..],
        "privacyIDEA's columns first, in its order"
    );
    for key in ["count", "current", "next", "prev"] {
        assert!(ours.get(key).is_some(), "{key}");
    }
    assert_eq!(
        (
            ours["count"].as_u64(),
            ours["current"].as_u64(),
            ours["next"].as_u64()
        ),
        (Some(12), Some(1), Some(2))
    );
    assert!(ours["prev"].is_null());
    let their_row = theirs["auditdata"][2].as_object().unwrap();
    let our_row = ours["auditdata"][1].as_object().unwrap(); // entry 11, a validate check like theirs
    for (key, value) in their_row {
        let mine = our_row
            .get(key)
            .unwrap_or_else(|| panic!("row lacks {key}"));
        let kind = |v: &Value| (v.is_string(), v.is_number(), v.is_null());
        if !value.is_null() && !mine.is_null() {
            assert_eq!(kind(mine), kind(value), "{key}: {mine} vs {value}");
        }
    }
    assert_eq!(our_row["number"], 11);
    assert_eq!(our_row["success"], 0);
    assert_eq!(our_row["sig_check"], "OK");
    assert_eq!(our_row["missing_line"], "OK");
    assert_eq!(our_row["date"], "2026-12-03T16:49:46.048204");
    assert_eq!(our_row["startdate"], "2026-12-03T16:49:46.000000");
    assert_eq!(our_row["duration"], 0.048204);
}
