//! Interoperability with Yubico's own client (ykman) on the same virtual key: each side reads what the other wrote.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use tessera_hwtool::otp::config::CONFIG_SIZE;

use super::cases::{CR_KEY, RFC_KEY};
use super::pcsc_oath::{RFC_KEY_256, RFC_KEY_512, b32, oathtool};
use super::rig::{Session, hwtool, session};

/// ykman on the rig's reader. A stub `pkill` comes first in PATH: ykman runs `pkill -9 scdaemon` when a
/// connection fails, which has no business on a CI machine.
fn ykman(s: &Session, args: &[&str]) -> String {
    let stub = s.rig.dir.join("stub-bin");
    if !stub.join("pkill").exists() {
        fs::create_dir_all(&stub).unwrap();
        fs::write(stub.join("pkill"), "#!/bin/sh\nexit 1\n").unwrap();
        fs::set_permissions(stub.join("pkill"), fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        stub.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("ykman")
        .args(["--reader", "CCID 00 00"])
        .args(args)
        .env("PATH", path)
        .output()
        .expect("ykman is not installed: run scripts/setup-hwtool.sh");
    assert!(
        out.status.success(),
        "ykman {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The code ykman printed for `id` (`id   code` lines).
fn code_of(listing: &str, id: &str) -> String {
    listing
        .lines()
        .find_map(|l| l.strip_prefix(id).filter(|rest| rest.starts_with(' ')))
        .unwrap_or_else(|| panic!("no {id} in ykman output:\n{listing}"))
        .trim()
        .to_string()
}

#[test]
fn ykman_reads_and_calculates_what_hwtool_added() {
    let s = session();
    hwtool(&[
        "oath",
        "add",
        "bob",
        &b32(RFC_KEY_512),
        "--issuer",
        "Corp",
        "--algorithm",
        "sha512",
        "--digits",
        "8",
    ])
    .ok();
    hwtool(&[
        "oath",
        "add",
        "sha256acct",
        &b32(RFC_KEY_256),
        "--algorithm",
        "sha256",
        "--period",
        "60",
    ])
    .ok();
    hwtool(&[
        "oath",
        "add",
        "hotp1",
        &b32(RFC_KEY),
        "--type",
        "hotp",
        "--digits",
        "8",
    ])
    .ok();
    let list = ykman(&s, &["oath", "accounts", "list"]);
    for id in ["Corp:bob", "60/sha256acct", "hotp1"] {
        assert!(
            list.lines().any(|l| l.trim() == id),
            "ykman lists {id}:\n{list}"
        );
    }
    let before = now();
    let codes = ykman(&s, &["oath", "accounts", "code"]);
    let after = now();
    let accept = |id: &str, mode: &str, digits, period, key| {
        let got = code_of(&codes, id);
        let ok: Vec<String> = [before, after]
            .iter()
            .map(|&t| oathtool(&[mode], digits, period, t, key))
            .collect();
        assert!(ok.contains(&got), "{id}: ykman says {got}, oathtool {ok:?}");
    };
    accept("Corp:bob", "--totp=sha512", 8, 30, RFC_KEY_512);
    accept("60/sha256acct", "--totp=sha256", 6, 60, RFC_KEY_256);
    assert_eq!(
        code_of(&ykman(&s, &["oath", "accounts", "code", "hotp1"]), "hotp1"),
        "84755224"
    );
    assert_eq!(
        code_of(&ykman(&s, &["oath", "accounts", "code", "hotp1"]), "hotp1"),
        "94287082"
    );

    // A password set by hwtool is one ykman can use (same PBKDF2 key, same SET CODE).
    hwtool(&["oath", "password", "pw-from-hwtool"]).ok();
    let list = ykman(&s, &["oath", "accounts", "list", "-p", "pw-from-hwtool"]);
    assert!(list.contains("Corp:bob"), "{list}");
}

#[test]
fn hwtool_reads_and_calculates_what_ykman_added() {
    let s = session();
    let key = b32(RFC_KEY);
    ykman(
        &s,
        &[
            "oath",
            "accounts",
            "add",
            "-f",
            "-i",
            "Example",
            "alice@example.com",
            &key,
        ],
    );
    ykman(
        &s,
        &[
            "oath",
            "accounts",
            "add",
            "-f",
            "-o",
            "TOTP",
            "-a",
            "SHA256",
            "-d",
            "8",
            "-P",
            "60",
            "wide",
            &b32(RFC_KEY_256),
        ],
    );
    ykman(
        &s,
        &[
            "oath", "accounts", "add", "-f", "-o", "HOTP", "-c", "7", "counted", &key,
        ],
    );
    ykman(&s, &["oath", "access", "change", "-n", "pw-from-ykman"]);
    hwtool(&["oath", "list"]).failed_with("password protected");
    let pw = ["oath", "--password", "pw-from-ykman"];
    let listed = hwtool(&[&pw[..], &["list"]].concat());
    assert_eq!(
        listed.ok().stdout,
        "Example:alice@example.com\tTOTP\tSHA1\n60/wide\tTOTP\tSHA256\ncounted\tHOTP\tSHA1\n"
    );
    let t = "1234567890";
    let out = hwtool(&[&pw[..], &["code", "--timestamp", t]].concat());
    let t: u64 = t.parse().unwrap();
    assert_eq!(
        out.ok().stdout,
        format!(
            "Example:alice@example.com\t{}\n60/wide\t{}\ncounted\t{}\n",
            oathtool(&["--totp"], 6, 30, t, RFC_KEY),
            oathtool(&["--totp=sha256"], 8, 60, t, RFC_KEY_256),
            oathtool(&["-c", "7"], 6, 30, 0, RFC_KEY),
        )
    );
}

#[test]
fn otp_slots_written_by_ykman_and_hwtool_are_the_same_bytes() {
    let s = session();
    let last = |s: &Session| hex::encode(&s.key().otp.writes.last().unwrap().data[..CONFIG_SIZE]);
    let rfc_b32 = b32(RFC_KEY);
    let pairs: [(Vec<&str>, Vec<String>); 3] = [
        (
            vec!["otp", "hotp", "-f", "-d", "8", "1", &rfc_b32],
            [
                "otp", "hotp", "1", "--force", "--digits", "8", "--key", RFC_KEY,
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            vec!["otp", "chalresp", "-f", "2", CR_KEY],
            ["otp", "chalresp", "2", "--force", "--key", CR_KEY]
                .map(String::from)
                .to_vec(),
        ),
        (
            vec![
                "otp",
                "yubiotp",
                "-f",
                "-S",
                "-p",
                "0a1b2c3d4e5f",
                "-k",
                "00112233445566778899aabbccddeeff",
                "2",
            ],
            [
                "otp",
                "yubiotp",
                "2",
                "--force",
                "--private-id",
                "0a1b2c3d4e5f",
                "--key",
                "00112233445566778899aabbccddeeff",
            ]
            .map(String::from)
            .to_vec(),
        ),
    ];
    for (yk, ours) in pairs {
        ykman(&s, &yk);
        let by_ykman = last(&s);
        let ours: Vec<&str> = ours.iter().map(String::as_str).collect();
        hwtool(&ours).ok();
        assert_eq!(last(&s), by_ykman, "ykman {yk:?} vs hwtool {ours:?}");
    }
    // ykman sees the slots hwtool wrote, and calculates with the key hwtool wrote.
    hwtool(&["otp", "chalresp", "2", "--force", "--key", CR_KEY]).ok();
    let info = ykman(&s, &["otp", "info"]);
    assert!(
        info.contains("Slot 1: programmed") && info.contains("Slot 2: programmed"),
        "{info}"
    );
    let r = ykman(&s, &["otp", "calculate", "2", "616263"]);
    assert_eq!(r.trim(), "e0f2c3f2b93b9eda37a6848ea1253a06e4a85732");
}
