//! Seed import from the administrator's side: the audit log entry of each import, `tessera token
//! import` on a stopped server's data dir, and the `importtokens` right once admin policies exist.

use std::fs;
use std::process::{Command, Output};
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};

use super::{
    KEY_A, KEY_B, PSK, check_serial, counts, figure6_tampered, hotp_digits, load, rfc6030_path,
};
use crate::harness::at_rest::assert_no_key_on_disk;
use crate::harness::server::tessera_bin;
use crate::harness::{Api, RFC_KEY, Resp, Server, hotp, now_with_step_margin, setup_realm, totp};
use crate::policies::set_policy;

/// `GET /audit/` with these filters, once it finds `count` entries: a search reads only what the
/// audit writer has signed and synced, a moment after the answer. Polls at most 10 s.
fn audit_search(admin: &Api, filters: &[(&str, &str)], count: u64) -> Resp {
    for _ in 0..1000 {
        let resp = admin.get("/audit/", filters);
        resp.expect_ok();
        if resp.json["result"]["value"]["count"].as_u64() >= Some(count) {
            return resp;
        }
        thread::sleep(Duration::from_millis(10));
    }
    panic!("{count} audit entries for {filters:?} never became searchable");
}

#[test]
fn the_audit_log_records_each_import_with_its_counts_and_failures() {
    let server = Server::start();
    let admin = server.admin();
    let csv = format!("AUD0001, {KEY_A}, hotp, 6\nAUD0002, nothex, hotp, 6\n");
    assert_eq!(
        counts(&load(
            &admin,
            "audit.csv",
            &[("type", "oathcsv")],
            csv.as_bytes()
        )),
        (1, 1)
    );
    load(
        &admin,
        "tampered.xml",
        &[("type", "pskc"), ("psk", PSK)],
        figure6_tampered().as_bytes(),
    )
    .expect_error(400, 905);

    let audit = audit_search(&admin, &[("action", "*token/load*")], 2);
    let rows = audit.json["result"]["value"]["auditdata"]
        .as_array()
        .unwrap();
    assert_eq!(rows.len(), 2, "{audit}");
    // Newest first: the refused PSKC file, then the CSV.
    let (refused, csv_row) = (&rows[0], &rows[1]);
    for row in rows {
        assert_eq!(row["action"], json!("POST /token/load/<filename>"), "{row}");
        assert_eq!(row["administrator"], json!("admin"), "{row}");
        assert_eq!(row["sig_check"], json!("OK"), "{row}");
    }
    assert_eq!(csv_row["success"], json!(1), "{csv_row}");
    assert_eq!(
        csv_row["info"],
        json!(
            "audit.csv: n_imported 1, n_not_imported 1; line 2 (AUD0002): \
             the key is not hex (an even number of 0-9, a-f)"
        ),
        "{csv_row}"
    );
    assert_eq!(refused["success"], json!(0), "{refused}");
    assert_eq!(
        refused["info"],
        json!(
            "tampered.xml: ERR905: The pskc file cannot be imported: the MAC of key '987654321' \
             does not verify: wrong pre-shared key or password, or the file was altered"
        ),
        "{refused}"
    );
}

/// `tessera token import ARGS --data-dir D --config C` on the server's data dir.
fn cli_import(server: &Server, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(tessera_bin())
        .args(["token", "import"])
        .args(args)
        .arg("--data-dir")
        .arg(server.data_dir())
        .arg("--config")
        .arg(server.config_path())
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_cli_imports_into_a_stopped_servers_data_dir() {
    let mut server = Server::start();
    let admin = server.admin();
    setup_realm(&server, &admin);
    let csv_path = server.root().join("cli.csv");
    fs::write(
        &csv_path,
        format!(
            "CLIH1, {KEY_A}, hotp, 6, 3\nCLIT1, {KEY_B}, totp, 6, 30\nCLIBAD, {KEY_A}, hotp, 9\n"
        ),
    )
    .unwrap();
    let csv = csv_path.to_str().unwrap();

    // Not while the server runs.
    let busy = cli_import(&server, &[csv, "--type", "oathcsv"], &[]);
    assert!(!busy.status.success(), "{busy:?}");
    assert!(
        stderr(&busy).contains("is in use by a running tessera serve"),
        "{}",
        stderr(&busy)
    );

    server.stop();
    let out = cli_import(
        &server,
        &[csv, "--type", "oathcsv", "--realm", "realm1"],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "one row was not imported: {out:?}"
    );
    assert_eq!(
        stdout(&out),
        "imported 2, not imported 1\nline 3 (CLIBAD): otplen '9' is not 6 or 8\n"
    );
    let figure6 = rfc6030_path(6);
    let figure6 = figure6.to_str().unwrap();
    let tampered_path = server.root().join("tampered.xml");
    fs::write(&tampered_path, figure6_tampered()).unwrap();
    let tampered = cli_import(
        &server,
        &[
            tampered_path.to_str().unwrap(),
            "--type",
            "pskc",
            "--psk",
            PSK,
        ],
        &[],
    );
    assert!(!tampered.status.success(), "{tampered:?}");
    assert!(
        stderr(&tampered).contains("the MAC of key '987654321' does not verify"),
        "{}",
        stderr(&tampered)
    );
    let out = cli_import(&server, &[figure6, "--type", "pskc", "--psk", PSK], &[]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out), "imported 1, not imported 0\n");
    // Figure 7's password from the environment, replacing figure 6's token of the same serial.
    let figure7 = rfc6030_path(7);
    let out = cli_import(
        &server,
        &[
            figure7.to_str().unwrap(),
            "--type",
            "pskc",
            "--password-env",
            "PSKC_PASSWORD",
            "--overwrite",
        ],
        &[("PSKC_PASSWORD", "qwerty")],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out), "imported 1, not imported 0\n");

    server.restart();
    let admin = server.admin();
    let anon = server.anon();
    let token = admin.token_info("CLIH1");
    assert_eq!(
        (&token["realms"], &token["count"], &token["description"]),
        (&json!(["realm1"]), &json!(3), &json!("imported")),
        "{token}"
    );
    assert_eq!(
        admin.token_info("987654321")["description"],
        json!("TokenVendorAcme")
    );
    check_serial(&anon, "CLIH1", &hotp(KEY_A, 3)).expect_auth("ACCEPT", "matching 1 tokens");
    let now = now_with_step_margin(30);
    check_serial(&anon, "CLIT1", &totp(KEY_B, now, 30)).expect_auth("ACCEPT", "matching 1 tokens");
    check_serial(&anon, "987654321", &hotp_digits(RFC_KEY, 0, 8))
        .expect_auth("ACCEPT", "matching 1 tokens");
    server.stop();
    assert_no_key_on_disk(&server, &[KEY_A, KEY_B, RFC_KEY]);
}

/// A client with the JWT of a local administrator.
fn login_admin(server: &Server, name: &str, password: &str) -> Api {
    let anon = server.anon();
    let resp = anon.post("/auth", &[("username", name), ("password", password)]);
    resp.expect_ok();
    anon.with_auth(resp.json["result"]["value"]["token"].as_str().unwrap())
}

#[test]
fn importing_needs_the_importtokens_right_once_admin_policies_exist() {
    let mut server = Server::start();
    server.stop();
    server.add_admin("helpdesk", "pw");
    server.restart();
    let admin = server.admin();
    setup_realm(&server, &admin);
    let helpdesk = login_admin(&server, "helpdesk", "pw");
    let row = |serial: &str| format!("{serial}, {KEY_A}, hotp, 6\n");
    let csv = |api: &Api, serial: &str, fields: &[(&str, &str)]| {
        let mut all = vec![("type", "oathcsv")];
        all.extend_from_slice(fields);
        load(api, "r.csv", &all, row(serial).as_bytes())
    };

    // No admin policy yet: every administrator may import.
    assert_eq!(counts(&csv(&helpdesk, "RIGHT0", &[])), (1, 0));

    set_policy(
        &admin,
        "pol_admin",
        &[
            ("scope", "admin"),
            (
                "action",
                "importtokens, tokenlist, auditlog, policyread, policywrite",
            ),
            ("adminuser", "admin"),
        ],
    );
    set_policy(
        &admin,
        "pol_helpdesk",
        &[
            ("scope", "admin"),
            ("action", "enable, disable, tokenlist"),
            ("adminuser", "helpdesk"),
        ],
    );
    csv(&helpdesk, "RIGHT1", &[]).expect_error(403, 303);
    let listed = admin.get("/token/", &[("serial", "RIGHT1")]);
    assert_eq!(
        listed.json["result"]["value"]["count"],
        json!(0),
        "{listed}"
    );

    // The right for realm1 only: the tokens must go to realm1.
    set_policy(
        &admin,
        "pol_helpdesk",
        &[
            ("scope", "admin"),
            ("action", "importtokens, tokenlist"),
            ("realm", "realm1"),
            ("adminuser", "helpdesk"),
        ],
    );
    csv(&helpdesk, "RIGHT1", &[]).expect_error(403, 303);
    assert_eq!(
        counts(&csv(&helpdesk, "RIGHT1", &[("tokenrealms", "realm1")])),
        (1, 0)
    );
    assert_eq!(admin.token_info("RIGHT1")["realms"], json!(["realm1"]));
    // A version 2 row gives the token to alice of realm1.
    let v2 = format!("# version: 2\nalice, flat1, realm1, RIGHT2, {KEY_B}, hotp, 6\n");
    let resp = load(
        &helpdesk,
        "v2.csv",
        &[("type", "oathcsv"), ("tokenrealms", "realm1")],
        v2.as_bytes(),
    );
    assert_eq!(counts(&resp), (1, 0), "{resp}");
    assert_eq!(admin.token_info("RIGHT2")["username"], json!("alice"));
    server
        .anon()
        .check(&[("user", "alice"), ("pass", &hotp(KEY_B, 0))])
        .expect_auth("ACCEPT", "matching 1 tokens");

    // admin keeps the right through its own policy.
    assert_eq!(counts(&csv(&admin, "RIGHT3", &[])), (1, 0));

    // The refused attempts are in the audit log as failures of helpdesk.
    let audit = audit_search(
        &admin,
        &[("action", "*token/load*"), ("administrator", "helpdesk")],
        5,
    );
    let successes: Vec<&Value> = audit.json["result"]["value"]["auditdata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| &row["success"])
        .collect();
    assert_eq!(
        successes,
        [&json!(1), &json!(1), &json!(0), &json!(0), &json!(1)],
        "{audit}"
    );
}
