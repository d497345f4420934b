//! `import` end to end: the Yubico CSV and PSKC logs `batch` wrote for the virtual key, a password-protected
//! PSKC written by python-pskc, traditional and OATH CSV files, sent to a real server whose tokens then
//! accept the OTPs oathtool and the key compute; wrong keys and refused rows fail loudly and import nothing.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use tessera_hwtool::otp::config::SlotMode;

use super::rig::{Run, SERIAL, hwtool_env, session};
use super::server::{ADMIN, ADMIN_PASSWORD, Server};

const PSK: &str = "000102030405060708090a0b0c0d0e0f";
/// RFC 4226's key "12345678901234567890"; its HOTP values for counters 0 and 1.
const RFC4226_KEY: &str = "3132333435363738393031323334353637383930";
const RFC4226_0: &str = "755224";
const RFC4226_1: &str = "287082";

/// `tessera-hwtool import FILE --server URL ARGS...` with the admin credentials (and `env`).
fn import(server: &Server, file: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all = vec!["import", file.to_str().unwrap(), "--server", &server.base];
    all.extend_from_slice(args);
    let mut env = env.to_vec();
    env.extend([
        ("TESSERA_ADMIN_USER", ADMIN),
        ("TESSERA_ADMIN_PASSWORD", ADMIN_PASSWORD),
    ]);
    hwtool_env(&all, &env)
}

fn oathtool(key_hex: &str, counter: u64) -> String {
    let out = Command::new("oathtool")
        .args(["-c", &counter.to_string(), key_hex])
        .output()
        .expect("oathtool is not installed: run scripts/setup.sh");
    assert!(out.status.success(), "oathtool {key_hex}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn check_serial(server: &Server, serial: &str, otp: &str) -> Value {
    server.post("/validate/check", &[("serial", serial), ("pass", otp)])
}

fn assert_accepts(server: &Server, serial: &str, otp: &str) {
    let v = check_serial(server, serial, otp);
    assert_eq!(v["result"]["authentication"], "ACCEPT", "{serial}: {v}");
}

/// A file only its owner may read, as a key file should be.
fn private_file(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
}

fn assert_no_secret(r: &Run, secrets: &[&str]) {
    for s in secrets {
        assert!(
            !r.stdout.contains(s) && !r.stderr.contains(s),
            "a secret was printed: {r:?}"
        );
    }
}

#[test]
fn the_batch_logs_import_and_the_key_is_accepted() {
    let s = session();
    let dir = tempfile::tempdir().unwrap();
    let (csv, pskc, psk_file) = (
        dir.path().join("keys.csv"),
        dir.path().join("keys.pskc"),
        dir.path().join("psk.hex"),
    );
    hwtool_env(
        &[
            "batch",
            "--count",
            "1",
            "--slot",
            "1",
            "--log",
            csv.to_str().unwrap(),
            "--pskc",
            pskc.to_str().unwrap(),
            "--wait",
            "10",
        ],
        &[("TESSERA_PSKC_KEY", PSK)],
    )
    .ok();
    let key = match s.key().otp.decoded(1).map(|d| d.mode) {
        Some(SlotMode::Hotp { key, .. }) => hex::encode(key),
        other => panic!("slot 1: {other:?}"),
    };
    let server = Server::start();
    private_file(&psk_file, &format!("{PSK}\n"));

    // The Yubico-format CSV: told apart from OATH CSV, imported as privacyIDEA names it (no slot: _X).
    let r = import(&server, &csv, &["--realm", "realm1"], &[]);
    r.ok();
    assert!(
        r.stdout
            .contains("keys.csv: detected yubikeycsv: Yubico-format CSV rows"),
        "{r:?}"
    );
    assert!(
        r.stdout.contains("Imported 1 token, 0 not imported."),
        "{r:?}"
    );
    assert_no_secret(&r, &[&key]);
    let csv_serial = format!("UBOM{SERIAL}_X");
    let tokens = server.tokens(&csv_serial);
    assert_eq!(tokens.len(), 1, "{csv_serial}");
    assert_eq!(tokens[0]["tokentype"], "hotp");
    assert_eq!(tokens[0]["realms"], serde_json::json!(["realm1"]));

    // The encrypted PSKC, the key from a file: the same serial `enroll` and `batch --server` give (Key Id serial:slot).
    let r = import(
        &server,
        &pskc,
        &["--psk-file", psk_file.to_str().unwrap()],
        &[],
    );
    r.ok();
    assert!(r.stdout.contains("keys.pskc: detected pskc: XML"), "{r:?}");
    assert!(
        r.stdout.contains("Imported 1 token, 0 not imported."),
        "{r:?}"
    );
    assert_no_secret(&r, &[&key, PSK]);
    let pskc_serial = format!("UBOM{SERIAL}_1");
    assert_eq!(server.tokens(&pskc_serial).len(), 1, "{pskc_serial}");

    // The key's first OTP is oathtool's for the logged secret, and both imported tokens accept it.
    let otp = s.key().otp.press(1).unwrap();
    assert_eq!(otp, oathtool(&key, 0));
    assert_accepts(&server, &csv_serial, &otp);
    assert_accepts(&server, &pskc_serial, &otp);

    // The same file again: the existing serial is kept and reported, and the exit code says so.
    let r = import(&server, &csv, &[], &[]);
    r.failed_with("1 of 1 not imported");
    assert!(
        r.stdout.contains("Imported 0 tokens, 1 not imported."),
        "{r:?}"
    );
    assert!(
        r.stdout
            .contains(&format!("  line 1, {csv_serial}: serial exists")),
        "{r:?}"
    );
    // --overwrite replaces it (the counter starts again: counter 0 is good once more).
    import(&server, &csv, &["--overwrite"], &[]).ok();
    assert_accepts(&server, &csv_serial, &otp);
}

#[test]
fn a_wrong_or_missing_pskc_key_imports_nothing() {
    let _s = session();
    let dir = tempfile::tempdir().unwrap();
    let pskc = dir.path().join("keys.pskc");
    hwtool_env(
        &[
            "batch",
            "--count",
            "1",
            "--pskc",
            pskc.to_str().unwrap(),
            "--wait",
            "10",
        ],
        &[("TESSERA_PSKC_KEY", PSK)],
    )
    .ok();
    let server = Server::start();
    let serial = format!("UBOM{SERIAL}_2");

    let wrong = dir.path().join("wrong.hex");
    private_file(&wrong, "ffffffffffffffffffffffffffffffff");
    let r = import(
        &server,
        &pskc,
        &["--psk-file", wrong.to_str().unwrap()],
        &[],
    );
    r.failed_with("the server refused the import (HTTP 400)");
    assert!(
        r.stderr.contains("wrong pre-shared key or password")
            && r.stderr.contains("nothing was imported"),
        "{r:?}"
    );
    import(&server, &pskc, &[], &[])
        .failed_with("the file is encrypted: give the pre-shared key (psk) (nothing was imported; give --psk-file, --psk-env or --password-env)");
    // A malformed key is refused before anything is sent, without echoing it.
    let r = import(
        &server,
        &pskc,
        &["--psk-env", "MY_PSK"],
        &[("MY_PSK", "0011223344556677zz")],
    );
    r.failed_with("the pre-shared key must be 32 hex digits");
    assert_no_secret(&r, &["0011223344556677zz"]);
    import(&server, &pskc, &["--psk-env", "UNSET_PSK_VAR"], &[])
        .failed_with("UNSET_PSK_VAR (the pre-shared key) is not set");
    // A key for a file that is not PSKC is a mistake, not something to ignore.
    let csv = dir.path().join("t.csv");
    fs::write(&csv, format!("S1, {RFC4226_KEY}, hotp, 6\n")).unwrap();
    import(&server, &csv, &["--psk-env", "MY_PSK"], &[("MY_PSK", PSK)])
        .failed_with("are for PSKC files, and ");
    assert!(server.tokens(&serial).is_empty());
    assert!(server.tokens("S1").is_empty());

    // The right key from the environment, as `batch` takes it.
    import(
        &server,
        &pskc,
        &["--psk-env", "TESSERA_PSKC_KEY"],
        &[("TESSERA_PSKC_KEY", PSK)],
    )
    .ok();
    assert_eq!(server.tokens(&serial).len(), 1);

    // A Yubico OTP PSKC log carries the public and private ids (python-pskc reads them) and is named
    // UBAM<serial>_<slot>; the server has no yubikey token type yet, so the row is listed as not imported.
    // (When the Yubico OTP plugin exists this becomes an import and an ACCEPT of the key's OTP.)
    let yk = dir.path().join("yubico.pskc");
    hwtool_env(
        &[
            "batch",
            "--count",
            "1",
            "--mode",
            "yubico",
            "--force",
            "--pskc",
            yk.to_str().unwrap(),
            "--wait",
            "10",
        ],
        &[("TESSERA_PSKC_KEY", PSK)],
    )
    .ok();
    let out = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import pskc, sys\n\
             p = pskc.PSKC(sys.argv[1])\n\
             print(p.keys[0].id, p.keys[0].key_userid)",
            yk.to_str().unwrap(),
        ])
        .output()
        .expect("python3 with python-pskc (scripts/setup-hwtool.sh)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("{SERIAL}:2 CN=vvccccnrhbfu, UID=")),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = import(
        &server,
        &yk,
        &["--psk-env", "TESSERA_PSKC_KEY"],
        &[("TESSERA_PSKC_KEY", PSK)],
    );
    r.failed_with("1 of 1 not imported");
    assert!(
        r.stdout.contains(&format!(
            ", UBAM{SERIAL}_2: token type 'yubikey' is not loaded on this server"
        )),
        "{r:?}"
    );
}

#[test]
fn a_password_protected_pskc_from_python_pskc() {
    let dir = tempfile::tempdir().unwrap();
    let pskc = dir.path().join("pbkdf2.xml");
    let script = format!(
        "import pskc, sys\n\
         c = pskc.PSKC()\n\
         k = c.add_key(id='k1', serial='PBK0001', secret=bytes.fromhex('{RFC4226_KEY}'),\n\
                       algorithm='urn:ietf:params:xml:ns:keyprov:pskc:hotp', response_length=6, counter=0)\n\
         c.encryption.setup_pbkdf2('s3cret pass', iterations=1000)\n\
         c.mac.setup()\n\
         c.write(sys.argv[1])\n"
    );
    let out = Command::new("/usr/bin/python3")
        .args(["-c", &script, pskc.to_str().unwrap()])
        .output()
        .expect("python3 with python-pskc (scripts/setup-hwtool.sh)");
    assert!(
        out.status.success(),
        "python-pskc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !fs::read_to_string(&pskc)
            .unwrap()
            .contains("MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=")
    );
    let server = Server::start();
    import(
        &server,
        &pskc,
        &["--password-env", "PSKC_PASS"],
        &[("PSKC_PASS", "not it")],
    )
    .failed_with("wrong pre-shared key or password");
    assert!(server.tokens("PBK0001").is_empty());
    let r = import(
        &server,
        &pskc,
        &["--password-env", "PSKC_PASS"],
        &[("PSKC_PASS", "s3cret pass")],
    );
    r.ok();
    assert_no_secret(&r, &["s3cret pass", RFC4226_KEY]);
    assert_accepts(&server, "PBK0001", RFC4226_0);
}

#[test]
fn csv_files_are_detected_and_bad_rows_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start();

    // The Personalization Tool's traditional log: an OATH-HOTP row and a static password row.
    let hotp_key = "916821d3a138bf855e70069605559a206ba854cd";
    let static_key = "0e8e37b0e38b314a56748c030f58d21d";
    let trad = dir.path().join("configuration_log_hmac.csv");
    fs::write(
        &trad,
        format!(
            "LOGGING START,11.12.13 18:50\n\
             OATH-HOTP,11.12.13 18:55,1,cccccccccccc,,{hotp_key},,,0,0,0,6,0,0,0,0,0,0\n\
             Static Password,11.12.13 19:08,1,,d5a3d50327dc,{static_key},,,0,0,0,0,0,0,0,0,0,0\n"
        ),
    )
    .unwrap();
    let r = import(&server, &trad, &["--realm", "realm1"], &[]);
    r.failed_with("1 of 2 not imported");
    assert!(
        r.stdout
            .contains("detected yubikeycsv: the Personalization Tool's traditional CSV log"),
        "{r:?}"
    );
    assert!(
        r.stdout.contains("Imported 1 token, 1 not imported."),
        "{r:?}"
    );
    assert!(r.stdout.contains("  line 3: no public id"), "{r:?}");
    assert_no_secret(&r, &[hotp_key, static_key]);
    assert_accepts(&server, "UBOM00000000_1", &oathtool(hotp_key, 0));

    // OATH CSV with a numeric serial (not a YubiKey row), given the type explicitly and detected.
    let oath = dir.path().join("tokens.csv");
    fs::write(
        &oath,
        format!("# from the vendor\n10001, {RFC4226_KEY}, hotp, 6, 1\n"),
    )
    .unwrap();
    let r = import(&server, &oath, &[], &[]);
    r.ok();
    assert!(r.stdout.contains("detected oathcsv"), "{r:?}");
    assert_no_secret(&r, &[RFC4226_KEY]);
    assert_accepts(&server, "10001", RFC4226_1);

    // A realm that does not exist: the server refuses the whole file.
    let oath2 = dir.path().join("more.csv");
    fs::write(&oath2, format!("10002, {RFC4226_KEY}, hotp, 6\n")).unwrap();
    let r = import(
        &server,
        &oath2,
        &["--type", "oathcsv", "--realm", "nosuch"],
        &[],
    );
    r.failed_with("the token realm 'nosuch' does not exist");
    assert!(r.stderr.contains("nothing was imported"), "{r:?}");
    assert!(!r.stdout.contains("detected"), "{r:?}");
    assert!(server.tokens("10002").is_empty());

    // Bad admin credentials: nothing is sent.
    let r = hwtool_env(
        &["import", oath2.to_str().unwrap(), "--server", &server.base],
        &[
            ("TESSERA_ADMIN_USER", ADMIN),
            ("TESSERA_ADMIN_PASSWORD", "wrong"),
        ],
    );
    r.failed_with("the server refused the login");
    assert!(server.tokens("10002").is_empty());
}
