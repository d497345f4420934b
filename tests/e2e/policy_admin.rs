//! Administering policies: `POST /policy/<name>` on an existing policy changes only the fields sent
//! (privacyIDEA's set_policy), and `tessera policy list|disable|delete` undo an admin-policy lock-out
//! while the server is stopped.

use std::process::{Command, Output};

use serde_json::json;

use crate::harness::server::tessera_bin;
use crate::harness::{Server, setup_realm};
use crate::policies::set_policy;

#[test]
fn an_update_keeps_the_fields_it_does_not_send() {
    let server = Server::start();
    let admin = server.admin();
    set_policy(
        &admin,
        "scoped",
        &[
            ("scope", "authentication"),
            ("action", "otppin=none"),
            ("realm", "realmX"),
            ("client", "10.0.0.0/8"),
            ("priority", "5"),
        ],
    );
    set_policy(
        &admin,
        "scoped",
        &[
            ("scope", "authentication"),
            ("action", "otppin=userstore"),
            ("active", "false"),
        ],
    );
    let got = admin.get("/policy/scoped", &[]);
    let p = &got.expect_ok().json["result"]["value"][0];
    assert_eq!(
        (
            &p["action"],
            &p["active"],
            &p["realm"],
            &p["client"],
            &p["priority"]
        ),
        (
            &json!({"otppin": "userstore"}),
            &json!(false),
            &json!(["realmX"]),
            &json!(["10.0.0.0/8"]),
            &json!(5)
        )
    );
    // Without scope and action only the sent field changes; an empty one clears its field.
    set_policy(&admin, "scoped", &[("active", "true"), ("client", "")]);
    let p = admin.get("/policy/scoped", &[]).json["result"]["value"][0].clone();
    assert_eq!(
        (&p["active"], &p["client"], &p["realm"], &p["priority"]),
        (&json!(true), &json!([]), &json!(["realmX"]), &json!(5))
    );
    assert_eq!(p["action"], json!({"otppin": "userstore"}));
    // A new policy still needs scope and action.
    admin
        .post("/policy/fresh", &[("active", "false")])
        .expect_error(400, 905);
    admin
        .post("/policy/fresh", &[("scope", "authentication")])
        .expect_error(400, 905);
}

/// `tessera policy ARGS --data-dir D --config C`.
fn policy_cmd(server: &Server, args: &[&str]) -> Output {
    Command::new(tessera_bin())
        .arg("policy")
        .args(args)
        .arg("--data-dir")
        .arg(server.data_dir())
        .arg("--config")
        .arg(server.config_path())
        .output()
        .unwrap()
}

fn stdout_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The admin writes an admin policy without `policydelete` (nor anything else it needs) for itself.
fn lock_out(server: &Server) {
    let admin = server.admin();
    set_policy(
        &admin,
        "lockout",
        &[
            ("scope", "admin"),
            ("action", "tokenlist"),
            ("adminuser", "admin"),
        ],
    );
    admin.delete("/policy/lockout").expect_error(403, 303);
    admin.get("/realm/", &[]).expect_error(403, 303);
}

#[test]
fn offline_policy_commands_undo_an_admin_lock_out() {
    let mut server = Server::start();
    setup_realm(&server, &server.admin());
    lock_out(&server);

    // While the server runs, the data directory is in use.
    let out = policy_cmd(&server, &["delete", "lockout"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by a running tessera serve"), "{err}");

    server.stop();
    assert_eq!(
        stdout_of(&policy_cmd(&server, &["list"])),
        "lockout\tadmin\ttrue\ttokenlist\n"
    );
    assert_eq!(
        stdout_of(&policy_cmd(&server, &["disable", "lockout"])),
        "policy 'lockout' disabled\n"
    );
    assert_eq!(
        stdout_of(&policy_cmd(&server, &["list"])),
        "lockout\tadmin\tfalse\ttokenlist\n"
    );
    server.restart();
    let admin = server.admin();
    admin.get("/realm/", &[]).expect_ok();
    admin.post("/policy/enable/lockout", &[]).expect_ok();
    admin.get("/realm/", &[]).expect_error(403, 303);

    server.stop();
    let out = policy_cmd(&server, &["delete", "nosuch"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("The policy 'nosuch' does not exist"), "{err}");
    assert_eq!(
        stdout_of(&policy_cmd(&server, &["delete", "lockout"])),
        "policy 'lockout' deleted\n"
    );
    assert_eq!(stdout_of(&policy_cmd(&server, &["list"])), "");
    server.restart();
    let admin = server.admin();
    assert_eq!(
        admin.get("/realm/", &[]).expect_ok().json["result"]["value"]["realm1"]["default"],
        true
    );
    let policies = admin.get("/policy/", &[]);
    assert_eq!(policies.expect_ok().json["result"]["value"], json!([]));
}
