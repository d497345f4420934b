//! The signed audit log from outside: one entry per request in `GET /audit/` with privacyIDEA's columns
//! (captures 97 and 98), its filters and paging, and a server with the audit log switched off. `verify`:
//! `tessera audit verify` on an edited and a cut segment file, `sig_check` / `missing_line` after a
//! restart. `signed`: signed answers checked with Python's `json.dumps` and the `openssl` CLI.

use std::process::{Command, Output};
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::server::tessera_bin;
use crate::harness::{
    Api, Captured, Mismatches, Options, RFC_KEY, Resp, Server, hotp, setup_realm,
};
use crate::policies::{enroll, set_policy};

mod signed;
mod verify;

/// `privacyidea_server` of the captures, set as this node's name so rows compare value for value.
const CAPTURE_NODE: &str = "\n[audit]\nnode = \"127.0.0.1:5001\"\n";

/// The columns of privacyIDEA 3.7.1 (captures 97/98); Tessera appends `authentication` and `user_agent`.
const PI_COLUMNS: [&str; 21] = [
    "number",
    "action",
    "success",
    "serial",
    "date",
    "startdate",
    "duration",
    "token_type",
    "user",
    "realm",
    "administrator",
    "action_detail",
    "info",
    "privacyidea_server",
    "client",
    "log_level",
    "policies",
    "clearance_level",
    "sig_check",
    "missing_line",
    "resolver",
];

/// `GET /audit/` that must succeed.
fn audit(admin: &Api, params: &[(&str, &str)]) -> Resp {
    let resp = admin.get("/audit/", params);
    resp.expect_ok();
    resp
}

/// `result.value.auditdata`.
fn rows(resp: &Resp) -> Vec<Value> {
    resp.json["result"]["value"]["auditdata"]
        .as_array()
        .unwrap_or_else(|| panic!("no auditdata in {resp}"))
        .clone()
}

/// `result.value.count`.
fn count(resp: &Resp) -> u64 {
    resp.json["result"]["value"]["count"].as_u64().unwrap()
}

/// The `number` of each row.
fn numbers(rows: &[Value]) -> Vec<u64> {
    rows.iter().map(|r| r["number"].as_u64().unwrap()).collect()
}

/// The `action` of each row.
fn actions(rows: &[Value]) -> Vec<&str> {
    rows.iter().map(|r| r["action"].as_str().unwrap()).collect()
}

/// Waits until `count` entries with this `action` can be found. A search reads only what the writer has
/// signed and synced, a moment after the answer. Polls a bounded number of times; every poll is a request
/// and so adds a `GET /audit/` entry of its own.
fn wait_for_entries(admin: &Api, action: &str, count_wanted: u64) {
    for _ in 0..1000 {
        if count(&audit(admin, &[("action", action)])) >= count_wanted {
            return;
        }
        thread::sleep(Duration::from_millis(10));
    }
    panic!("{count_wanted} entries of {action:?} never became searchable");
}

/// Panics unless `row` has these values (a JSON object of column → value).
fn assert_columns(row: &Value, expected: &Value) {
    for (column, want) in expected.as_object().unwrap() {
        assert_eq!(&row[column], want, "column {column} of {row}");
    }
}

/// `tessera audit verify` on the server's data dir (the server stopped).
fn audit_verify(server: &Server) -> Output {
    Command::new(tessera_bin())
        .args(["audit", "verify", "--data-dir"])
        .arg(server.data_dir())
        .arg("--config")
        .arg(server.config_path())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_request_is_one_entry_with_privacyidea_columns_and_filters() {
    let server = Server::start_with(Options {
        extra_config: CAPTURE_NODE,
        ..Options::default()
    });
    let admin = server.admin();
    setup_realm(&server, &admin);
    set_policy(
        &admin,
        "pol_pin",
        &[
            ("scope", "authentication"),
            ("action", "otppin=tokenpin"),
            ("realm", "realm1"),
        ],
    );
    let serial = enroll(&admin, "hotp", RFC_KEY, "test", "alice");
    let anon = server.anon();
    anon.check(&[
        ("user", "alice"),
        ("pass", &format!("test{}", hotp(RFC_KEY, 0))),
    ])
    .expect_auth("ACCEPT", "matching 1 tokens");
    anon.check(&[("user", "alice"), ("pass", "test000000")])
        .expect_auth("REJECT", "wrong otp value");
    let unknown = anon.check(&[("user", "nobody"), ("pass", "test000000")]);
    unknown.expect_error(400, 904);
    anon.get("/no/such/path", &[]).expect_error(404, 404);
    wait_for_entries(&admin, "GET /no/such/path", 1);

    let all = audit(&admin, &[("sortorder", "asc"), ("page_size", "1000")]);
    let entries = rows(&all);
    let expected = [
        // As privacyIDEA logs an administrator's login (api/auth.py).
        json!({"action": "POST /auth", "success": 1, "administrator": "admin", "info": "internal admin"}),
        json!({"action": "POST /resolver/<resolver>", "success": 1, "administrator": "admin"}),
        json!({"action": "POST /realm/<realm>", "success": 1, "administrator": "admin"}),
        json!({"action": "POST /defaultrealm/<realm>", "success": 1, "administrator": "admin"}),
        json!({"action": "POST /policy/<name>", "success": 1, "administrator": "admin"}),
        // The new token's serial, type and owner, as privacyIDEA records them.
        json!({
            "action": "POST /token/init", "success": 1, "administrator": "admin", "info": "",
            "serial": serial, "token_type": "hotp", "user": "alice",
        }),
        json!({
            "action": "POST /validate/check", "success": 1, "authentication": "ACCEPT",
            "serial": serial, "token_type": "hotp", "user": "alice", "realm": "realm1",
            "resolver": "flat1", "administrator": null, "info": "matching 1 tokens", "policies": "pol_pin",
        }),
        json!({
            "action": "POST /validate/check", "success": 0, "authentication": "REJECT",
            "serial": serial, "token_type": "hotp", "user": "alice", "realm": "realm1",
            "resolver": "flat1", "administrator": null, "info": "wrong otp value", "policies": "pol_pin",
        }),
        json!({
            "action": "POST /validate/check", "success": 0, "authentication": null, "serial": null,
            "user": "nobody", "administrator": null, "policies": "",
            "info": unknown.json["result"]["error"]["message"],
        }),
        json!({
            "action": "GET /no/such/path", "success": 0, "authentication": null, "administrator": null,
            "info": "The requested URL /no/such/path was not found on the server.",
        }),
    ];
    assert!(entries.len() >= expected.len(), "{all}");
    for (i, (row, want)) in entries.iter().zip(&expected).enumerate() {
        assert_columns(row, want);
        assert_columns(
            row,
            &json!({
                "number": i + 1, "client": "127.0.0.1", "privacyidea_server": "127.0.0.1:5001",
                "action_detail": "", "sig_check": "OK", "missing_line": "OK",
                "log_level": null, "clearance_level": null,
            }),
        );
        assert!(
            row["user_agent"].as_str().unwrap().starts_with("ureq/"),
            "{row}"
        );
        let (start, date) = (
            row["startdate"].as_str().unwrap(),
            row["date"].as_str().unwrap(),
        );
        // privacyIDEA's format, 2026-12-03T16:38:46.654949, in UTC.
        for t in [start, date] {
            assert!(
                t.len() == 26 && &t[10..11] == "T" && &t[19..20] == ".",
                "{row}"
            );
        }
        assert!(start <= date, "{row}");
        assert!(row["duration"].as_f64().unwrap() >= 0.0, "{row}");
    }
    // After those, only the searches that waited for them (each one entry, by admin).
    for row in &entries[expected.len()..] {
        assert_columns(
            row,
            &json!({"action": "GET /audit/", "success": 1, "administrator": "admin", "sig_check": "OK"}),
        );
    }
    assert_eq!(count(&all), entries.len() as u64);

    // Capture 98: the validate entries, newest first, in privacyIDEA's shape and with its fixed values.
    let validate = audit(
        &admin,
        &[("action", "POST /validate/check"), ("page_size", "3")],
    );
    let mut columns: Vec<&str> = PI_COLUMNS.to_vec();
    columns.extend(["authentication", "user_agent"]);
    assert_eq!(
        validate.json["result"]["value"]["auditcolumns"],
        json!(columns)
    );
    let mut report = Mismatches::default();
    let mut captured = Captured::load("98-audit-filter-validate")
        .ignore("result.value.auditcolumns")
        .set("/result/value/count", json!(3))
        .set("/result/value/next", Value::Null);
    for (i, row) in entries[6..9].iter().rev().enumerate() {
        captured = same_history(captured, i, row);
    }
    report.check(&captured, &validate);

    // Capture 97: a page of five without a filter (here the first five, oldest first).
    let first = audit(&admin, &[("page_size", "5"), ("sortorder", "asc")]);
    let mut captured = Captured::load("97-audit")
        .ignore("result.value.auditcolumns")
        .set("/result/value/count", json!(count(&first)));
    for (i, row) in entries[..5].iter().enumerate() {
        captured = same_history(captured, i, row);
    }
    report.check(&captured, &first);
    report.assert_none();

    // privacyIDEA's filters: exact columns, wildcards, success, several at once, paging both ways.
    let search = |params: &[(&str, &str)]| {
        let resp = audit(&admin, params);
        (count(&resp), rows(&resp))
    };
    let (n, found) = search(&[("user", "nobody")]);
    assert_eq!((n, found[0]["number"].clone()), (1, json!(9)));
    let (n, found) = search(&[("serial", &serial), ("action", "POST /validate/check")]);
    assert_eq!(n, 2);
    assert_eq!(numbers(&found), [8, 7]);
    let (n, found) = search(&[("success", "0")]);
    assert_eq!(n, 3);
    assert_eq!(numbers(&found), [10, 9, 8]);
    assert_eq!(search(&[("action", "*validate*")]).0, 3);
    assert_eq!(search(&[("action", "post /VALIDATE*")]).0, 3);
    assert_eq!(search(&[("authentication", "ACCEPT")]).0, 1);
    assert_eq!(search(&[("policies", "pol_pin")]).0, 2);
    assert_eq!(search(&[("info", "*otp value")]).0, 1);
    let accepted = [
        ("realm", "realm1"),
        ("success", "1"),
        ("action", "POST /validate/check"),
    ];
    assert_eq!(search(&accepted).0, 1);
    assert_eq!(search(&[("user", "carol")]), (0, vec![]));

    let page = |n: &str| {
        let params = [
            ("action", "POST /validate/check"),
            ("page_size", "2"),
            ("page", n),
        ];
        audit(&admin, &params).json["result"]["value"].clone()
    };
    let (p1, p2) = (page("1"), page("2"));
    let paging = |v: &Value| {
        (
            v["count"].clone(),
            v["current"].clone(),
            v["next"].clone(),
            v["prev"].clone(),
        )
    };
    assert_eq!(paging(&p1), (json!(3), json!(1), json!(2), Value::Null));
    assert_eq!(paging(&p2), (json!(3), json!(2), Value::Null, json!(1)));
    let on_page = |v: &Value| numbers(v["auditdata"].as_array().unwrap());
    assert_eq!((on_page(&p1), on_page(&p2)), (vec![9, 8], vec![7]));
    let params = [
        ("action", "POST /validate/check"),
        ("sortorder", "asc"),
        ("page_size", "2"),
    ];
    let asc = rows(&audit(&admin, &params));
    assert_eq!(actions(&asc), ["POST /validate/check"; 2]);
    assert_eq!(numbers(&asc), [7, 8]);
    admin
        .get("/audit/", &[("page", "x")])
        .expect_error(400, 905);
}

/// Sets, in row `i` of a captured audit page, the values that differ only because the two servers had
/// different requests before (number, action, user, info ...), and leaves dates and durations free.
/// What stays compared: every key, the JSON types, and the columns both always fill the same way
/// (`action_detail`, `client`, `privacyidea_server`, `log_level`, `clearance_level`, `sig_check`).
fn same_history(captured: Captured, i: usize, row: &Value) -> Captured {
    let mut c = captured;
    for column in [
        "number",
        "action",
        "success",
        "serial",
        "token_type",
        "user",
        "realm",
        "resolver",
        "administrator",
        "info",
        "policies",
        "missing_line",
    ] {
        c = c.set(
            &format!("/result/value/auditdata/{i}/{column}"),
            row[column].clone(),
        );
    }
    for free in [
        "date",
        "startdate",
        "duration",
        "authentication",
        "user_agent",
    ] {
        c = c.ignore(&format!("result.value.auditdata.{i}.{free}"));
    }
    c
}

#[test]
fn with_the_audit_log_off_nothing_is_written_and_the_search_says_so() {
    let mut server = Server::start_with(Options {
        extra_config: "\n[audit]\nenabled = false\n",
        ..Options::default()
    });
    let admin = server.admin();
    setup_realm(&server, &admin);
    enroll(&admin, "hotp", RFC_KEY, "test", "alice");
    let ok = server.anon().check(&[
        ("user", "alice"),
        ("pass", &format!("test{}", hotp(RFC_KEY, 0))),
    ]);
    ok.expect_auth("ACCEPT", "matching 1 tokens");
    assert!(ok.json.get("signature").is_none(), "{ok}");
    let off = admin.get("/audit/", &[]);
    off.expect_error(400, 302);
    assert_eq!(
        off.json["result"]["error"]["message"],
        "ERR302: The audit log is switched off on this server ([audit] enabled = false)."
    );
    server.stop();
    assert!(!server.data_dir().join("audit").exists());
    assert!(!server.data_dir().join("audit-keys").exists());
    let out = audit_verify(&server);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("cannot read the audit public key"),
        "{}",
        text(&out.stderr)
    );
}
