//! Hostile token plugins (from `tessera-bundled`'s fixtures) installed with `--plugin-dir`: a loop,
//! unbounded memory growth and a panic cost their own request a 5xx and nothing else; a plugin that
//! keeps what it saw in its instance cannot show one token's OTP in another token's data.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Options, RFC_KEY, Server, enroll_rfc_hotp, hotp, serial_of};

const HOSTILE: [&str; 4] = [
    "hostile-loop",
    "hostile-grow",
    "hostile-panic",
    "hostile-snoop",
];

/// The fixtures' manifests set their own, tighter limits (hostile-loop 100 ms, hostile-grow 16 MiB).
fn hostile_server(instance_mode: &'static str) -> Server {
    Server::start_with(Options {
        instance_mode: Some(instance_mode),
        time_limit_ms: Some(500),
        memory_limit_mib: Some(64),
        fixture_plugins: HOSTILE.to_vec(),
        strip_manifest_limits: false,
        ..Default::default()
    })
}

fn enroll(server: &Server, token_type: &str) -> String {
    serial_of(
        &server
            .admin()
            .init_token(&[("type", token_type), ("genkey", "1")]),
    )
}

#[test]
fn misbehaving_plugins_fail_their_request_and_nothing_else() {
    let server = hostile_server("pooled");
    let good = enroll_rfc_hotp(&server.admin(), "GOOD0001", "");
    // The request is bounded: a hang is a failure, not a stuck test.
    let anon = server.anon().timeout(Duration::from_secs(30));
    let mut counter = 0;

    for token_type in ["hostile-loop", "hostile-grow", "hostile-panic"] {
        let serial = enroll(&server, token_type);
        for attempt in 0..2 {
            let started = Instant::now();
            let resp = anon
                .try_post(
                    "/validate/check",
                    &[("serial", &serial), ("pass", "123456")],
                )
                .unwrap_or_else(|e| {
                    panic!("{token_type} attempt {attempt}: no answer within 30 s: {e}")
                });
            let took = started.elapsed();
            assert!(resp.status >= 500, "{token_type} attempt {attempt}: {resp}");
            assert!(
                resp.content_type.starts_with("application/json"),
                "{token_type}: {resp}"
            );
            assert_eq!(
                resp.json["result"]["status"],
                Value::Bool(false),
                "{token_type}: {resp}"
            );
            assert!(
                resp.json["result"]["error"]["code"].is_i64(),
                "{token_type}: {resp}"
            );
            assert!(
                took < Duration::from_secs(10),
                "{token_type} attempt {attempt} took {took:?}"
            );
            // Shown with --nocapture: what each misbehaviour costs.
            eprintln!("{token_type} attempt {attempt}: {took:?}, {resp}");

            // The server still serves, and a normal token still works right after.
            let ok = anon.check(&[("serial", &good), ("pass", &hotp(RFC_KEY, counter))]);
            ok.expect_auth("ACCEPT", "matching 1 tokens");
            counter += 1;
        }
    }
    // Admin calls are unaffected too.
    server.admin().get("/token/", &[]).expect_ok();
}

#[test]
fn the_config_limits_bound_plugins_whose_manifest_sets_none() {
    let server = Server::start_with(Options {
        instance_mode: Some("fresh"),
        time_limit_ms: Some(400),
        memory_limit_mib: Some(32),
        fixture_plugins: vec!["hostile-loop", "hostile-grow"],
        strip_manifest_limits: true,
        ..Default::default()
    });
    let anon = server.anon().timeout(Duration::from_secs(30));
    let good = enroll_rfc_hotp(&server.admin(), "GOOD0002", "");

    let looping = enroll(&server, "hostile-loop");
    let started = Instant::now();
    let resp = anon
        .try_post(
            "/validate/check",
            &[("serial", &looping), ("pass", "123456")],
        )
        .unwrap();
    let took = started.elapsed();
    assert!(resp.status >= 500, "{resp}");
    // Stopped by the 400 ms of the config (not the manifest's 100 ms), and not much later.
    assert!(
        took >= Duration::from_millis(350) && took < Duration::from_secs(5),
        "took {took:?}: {resp}"
    );

    let growing = enroll(&server, "hostile-grow");
    let resp = anon
        .try_post(
            "/validate/check",
            &[("serial", &growing), ("pass", "123456")],
        )
        .unwrap();
    assert!(resp.status >= 500, "{resp}");
    assert!(
        resp.json["result"]["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("memory"),
        "{resp}"
    );

    anon.check(&[("serial", &good), ("pass", &hotp(RFC_KEY, 0))])
        .expect_auth("ACCEPT", "matching 1 tokens");
}

#[test]
fn a_plugin_instance_cannot_carry_one_tokens_otp_to_another() {
    // hostile-snoop accepts every OTP and writes the OTP its instance saw before into info `snooped`.
    for mode in ["pooled", "fresh"] {
        let server = hostile_server(mode);
        let admin = server.admin();
        let a = enroll(&server, "hostile-snoop");
        let b = enroll(&server, "hostile-snoop");

        server
            .anon()
            .check(&[("serial", &a), ("pass", "111111")])
            .expect_auth("ACCEPT", "matching 1 tokens");
        let second = server.anon().check(&[("serial", &b), ("pass", "222222")]);
        second.expect_auth("ACCEPT", "matching 1 tokens");
        assert!(
            !second.body.contains("111111"),
            "{mode}: token B's check answer shows token A's OTP: {second}"
        );

        // Isolation: B may only ever see what B's own checks carried (a retried evaluation of B
        // runs B's check twice), never A's OTP.
        let b_info = admin.token_info(&b);
        let b_snooped = b_info["info"]["snooped"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            b_snooped.is_empty() || b_snooped == "222222",
            "{mode}: token B's info shows another token's OTP: {b_info}"
        );
        assert!(!b_info.to_string().contains("111111"), "{mode}: {b_info}");
        let a_info = admin.token_info(&a);
        assert!(!a_info.to_string().contains("222222"), "{mode}: {a_info}");
    }
}
