//! `batch` end to end: two virtual keys in two readers, a Yubico-format CSV log, a PSKC file read back by
//! python-pskc's pskc2csv, tokens created on a real server and accepted; skipped keys and the no-log refusal.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use data_encoding::BASE64;
use tessera_hwtool::otp::config::SlotMode;

use super::rig::{SERIAL, SERIAL2, Session, hwtool, hwtool_env, session};
use super::server::{ADMIN, ADMIN_PASSWORD, Server};

const PSK: &str = "000102030405060708090a0b0c0d0e0f";

fn slot_secret(s: &Session, second: bool, slot: u8) -> Vec<u8> {
    let d = if second {
        s.key2().otp.decoded(slot)
    } else {
        s.key().otp.decoded(slot)
    };
    match d.map(|d| d.mode) {
        Some(SlotMode::Hotp { key, .. }) => key,
        Some(SlotMode::YubicoOtp { aes_key, .. }) => aes_key.to_vec(),
        other => panic!("slot {slot}: {other:?}"),
    }
}

#[test]
fn two_keys_are_logged_exported_and_enrolled() {
    let s = session();
    s.insert_second();
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("keys.csv");
    let pskc = dir.path().join("keys.pskc");
    let (log_s, pskc_s) = (log.to_str().unwrap(), pskc.to_str().unwrap());
    let r = hwtool_env(
        &[
            "--reader",
            "OTP+FIDO+CCID",
            "batch",
            "--count",
            "2",
            "--slot",
            "1",
            "--log",
            log_s,
            "--pskc",
            pskc_s,
            "--pskc-key",
            PSK,
            "--server",
            &server.base,
            "--realm",
            "realm1",
            "--wait",
            "20",
        ],
        &[
            ("TESSERA_ADMIN_USER", ADMIN),
            ("TESSERA_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ],
    );
    assert!(r.ok().stdout.contains("2 keys programmed."), "{r:?}");
    let k1 = hex::encode(slot_secret(&s, false, 1));
    let k2 = hex::encode(slot_secret(&s, true, 1));

    // The CSV: one Yubico-format line per key, readable only by the owner.
    let csv = fs::read_to_string(&log).unwrap();
    let mut lines: Vec<&str> = csv.lines().collect();
    lines.sort();
    assert_eq!(lines.len(), 2, "{csv}");
    for (line, serial, key) in [(lines[0], SERIAL, &k1), (lines[1], SERIAL2, &k2)] {
        let cols: Vec<&str> = line.split(',').collect();
        assert_eq!(cols.len(), 7, "{line}");
        assert_eq!(
            &cols[..5],
            &[serial.to_string().as_str(), "", "0", key.as_str(), ""],
            "{line}"
        );
        assert_eq!(cols[5].len(), 19, "ISO timestamp: {line}");
        assert_eq!(cols[6], "", "trailing comma");
    }
    assert!(csv.ends_with(",\n"));
    assert_eq!(
        fs::metadata(&log).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // The PSKC: no secret in clear, and python-pskc decrypts (and MAC-checks) the same secrets.
    let xml = fs::read_to_string(&pskc).unwrap();
    for k in [&k1, &k2] {
        let raw = hex::decode(k).unwrap();
        assert!(
            !xml.contains(k.as_str()) && !xml.contains(&BASE64.encode(&raw)),
            "secret in clear"
        );
    }
    let out = Command::new("pskc2csv")
        .args([
            "-s",
            PSK,
            "-e",
            "hex",
            "-c",
            "serial,secret,algorithm,response_length",
            pskc_s,
        ])
        .output()
        .expect("pskc2csv is not installed: run scripts/setup-hwtool.sh");
    assert!(
        out.status.success(),
        "pskc2csv: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for (serial, key) in [(SERIAL, &k1), (SERIAL2, &k2)] {
        let want = format!("{serial},{key},urn:ietf:params:xml:ns:keyprov:pskc:hotp,6");
        assert!(
            text.lines().any(|l| l == want),
            "pskc2csv lacks {want}:\n{text}"
        );
    }
    let wrong = Command::new("pskc2csv")
        .args(["-s", "ffffffffffffffffffffffffffffffff", pskc_s])
        .output()
        .unwrap();
    assert!(
        !wrong.status.success(),
        "a wrong pre-shared key is detected (MAC)"
    );

    // The server has both tokens, and each key's OTP is accepted.
    for (serial, otp) in [
        (format!("UBOM{SERIAL}_1"), s.key().otp.press(1).unwrap()),
        (format!("UBOM{SERIAL2}_1"), s.key2().otp.press(1).unwrap()),
    ] {
        assert_eq!(server.tokens(&serial).len(), 1, "{serial}");
        let v = server.post("/validate/check", &[("serial", &serial), ("pass", &otp)]);
        assert_eq!(v["result"]["authentication"], "ACCEPT", "{serial}: {v}");
    }
}

#[test]
fn yubico_otp_log_line_matches_what_the_key_types() {
    let s = session();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("yubico.csv");
    hwtool(&[
        "batch",
        "--count",
        "1",
        "--mode",
        "yubico",
        "--log",
        log.to_str().unwrap(),
        "--wait",
        "10",
    ])
    .ok();
    let line = fs::read_to_string(&log).unwrap();
    let cols: Vec<&str> = line.trim_end().split(',').collect();
    assert_eq!(
        &cols[..2],
        &[SERIAL.to_string().as_str(), "vvccccnrhbfu"],
        "{line}"
    );
    assert_eq!(cols[3], hex::encode(slot_secret(&s, false, 2)));
    // ykgenerate's sibling ykparse decrypts what the key types with the logged AES key to the logged private id.
    let otp = s.key().otp.press(2).unwrap();
    let token = otp.strip_prefix("vvccccnrhbfu").unwrap();
    let out = Command::new("ykparse")
        .args([cols[3], token])
        .output()
        .expect("ykparse (libyubikey-dev)");
    let text = String::from_utf8(out.stdout).unwrap();
    let uid: Vec<String> = hex::decode(cols[2])
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(text.contains(&format!("uid: {} ", uid.join(" "))), "{text}");
    assert!(text.contains("crc check: ok"), "{text}");
}

#[test]
fn programmed_keys_are_skipped_and_secrets_are_never_dropped() {
    let s = session();
    hwtool(&["batch", "--count", "1"]).failed_with("give --log, --pskc or --server");
    hwtool(&["otp", "chalresp", "2", "--key", "00"]).ok();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("x.csv");
    let r = hwtool(&[
        "batch",
        "--count",
        "1",
        "--log",
        log.to_str().unwrap(),
        "--wait",
        "1",
    ]);
    r.failed_with("no new key within 1 s: 0 of 1 programmed");
    assert!(r.stderr.contains("slot 2 is programmed, skipped"), "{r:?}");
    assert!(!log.exists());
    assert_eq!(s.key().otp.writes.len(), 1);
}
