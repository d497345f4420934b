//! The OATH applet over PC/SC through the real CLI: every type, hash, length and period checked against
//! oathtool, in short and extended APDUs; delete, reset, replace and password.

use std::process::Command;

use super::cases::RFC_KEY;
use super::rig::{hwtool, hwtool_env, session};

/// RFC 6238's SHA-256 and SHA-512 seeds (the SHA-1 one is RFC_KEY).
pub const RFC_KEY_256: &str = "3132333435363738393031323334353637383930313233343536373839303132";
pub const RFC_KEY_512: &str = "31323334353637383930313233343536373839303132333435363738393031323334353637383930313233343536373839303132333435363738393031323334";

pub fn b32(hex_key: &str) -> String {
    data_encoding::BASE32_NOPAD.encode(&hex::decode(hex_key).unwrap())
}

/// oathtool's code: `mode` is `--totp`, `--totp=sha256`, ... or `-c N` for HOTP.
pub fn oathtool(mode: &[&str], digits: u8, period: u32, at: u64, hex_key: &str) -> String {
    let out = Command::new("oathtool")
        .args(mode)
        .args([
            "-d",
            &digits.to_string(),
            "-s",
            &format!("{period}s"),
            "-N",
            &format!("@{at}"),
            hex_key,
        ])
        .output()
        .expect("oathtool is not installed: run scripts/setup-hwtool.sh");
    assert!(
        out.status.success(),
        "oathtool {mode:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// `id<TAB>code` lines of `oath code` at time `t`.
fn codes(args: &[&str], t: u64) -> Vec<(String, String)> {
    let ts = t.to_string();
    let mut a = args.to_vec();
    a.extend(["oath", "code", "--timestamp", &ts]);
    let r = hwtool(&a);
    r.ok()
        .stdout
        .lines()
        .map(|l| {
            let (id, code) = l.split_once('\t').unwrap();
            (id.to_string(), code.to_string())
        })
        .collect()
}

#[test]
fn accounts_of_every_kind_match_oathtool_in_short_and_extended_apdus() {
    for form in ["short", "extended"] {
        let s = session();
        let f = ["--apdu", form];
        let add = |extra: &[&str]| {
            let mut a = f.to_vec();
            a.extend(["oath", "add"]);
            a.extend(extra);
            hwtool(&a).ok();
        };
        add(&["alice", &b32(RFC_KEY), "--issuer", "Example"]);
        add(&[
            "sha256",
            &b32(RFC_KEY_256),
            "--algorithm",
            "sha256",
            "--digits",
            "8",
            "--period",
            "60",
        ]);
        add(&[
            "sha512",
            &b32(RFC_KEY_512),
            "--algorithm",
            "sha512",
            "--digits",
            "8",
        ]);
        add(&["hotp8", &b32(RFC_KEY), "--type", "hotp", "--digits", "8"]);
        add(&[
            "hotp-from-5",
            &b32(RFC_KEY),
            "--type",
            "hotp",
            "--counter",
            "5",
        ]);
        add(&["touchy", &b32(RFC_KEY), "--touch"]);
        let mut l = f.to_vec();
        l.extend(["oath", "list"]);
        assert_eq!(
            hwtool(&l).ok().stdout,
            "Example:alice\tTOTP\tSHA1\n60/sha256\tTOTP\tSHA256\nsha512\tTOTP\tSHA512\nhotp8\tHOTP\tSHA1\n\
             hotp-from-5\tHOTP\tSHA1\ntouchy\tTOTP\tSHA1\n"
        );
        for t in [59u64, 1_111_111_109, 2_000_000_000] {
            let got = codes(&f, t);
            let want = [
                ("Example:alice", oathtool(&["--totp"], 6, 30, t, RFC_KEY)),
                (
                    "60/sha256",
                    oathtool(&["--totp=sha256"], 8, 60, t, RFC_KEY_256),
                ),
                (
                    "sha512",
                    oathtool(&["--totp=sha512"], 8, 30, t, RFC_KEY_512),
                ),
                ("touchy", oathtool(&["--totp"], 6, 30, t, RFC_KEY)),
            ];
            for (id, code) in want {
                assert!(
                    got.contains(&(id.to_string(), code.clone())),
                    "{id} at {t}: want {code}, got {got:?}"
                );
            }
        }
        assert_eq!(
            s.key().oath.touches,
            3,
            "each code of the touch credential took a touch"
        );
        // HOTP: the key's counter advances with each code (RFC 4226 8-digit vectors for counters 0, 1, 2).
        let one = |q: &str| {
            let mut a = f.to_vec();
            a.extend(["oath", "code", q]);
            hwtool(&a)
                .ok()
                .stdout
                .trim()
                .split_once('\t')
                .unwrap()
                .1
                .to_string()
        };
        // The three `oath code` runs above already took counters 0..2 of both HOTP credentials.
        assert_eq!(one("hotp8"), oathtool(&["-c", "3"], 8, 30, 0, RFC_KEY));
        assert_eq!(one("hotp8"), oathtool(&["-c", "4"], 8, 30, 0, RFC_KEY));
        assert_eq!(
            one("hotp-from-5"),
            oathtool(&["-c", "8"], 6, 30, 0, RFC_KEY)
        );
        let k = s.key();
        let ext = k
            .apdu_log
            .iter()
            .filter(|a| a.len() > 6 && a[4] == 0)
            .count();
        assert_eq!(ext > 0, form == "extended", "{form}: {ext} extended APDUs");
    }
}

#[test]
fn replace_delete_and_reset() {
    let s = session();
    hwtool(&["oath", "add", "x", &b32(RFC_KEY)]).ok();
    hwtool(&["oath", "add", "x", &b32(RFC_KEY_256)]).failed_with("pass --force to replace it");
    hwtool(&["oath", "add", "x", &b32(RFC_KEY_256), "--force"]).ok();
    assert_eq!(s.key().oath.creds.len(), 1);
    assert_eq!(s.key().oath.creds[0].key, hex::decode(RFC_KEY_256).unwrap());
    hwtool(&["oath", "add", "y", &b32(RFC_KEY)]).ok();
    hwtool(&["oath", "delete", "x"]).ok();
    hwtool(&["oath", "delete", "x"]).failed_with("no credential \"x\"");
    assert_eq!(hwtool(&["oath", "list"]).ok().stdout, "y\tTOTP\tSHA1\n");
    hwtool(&["oath", "reset"]).failed_with("pass --force");
    hwtool(&["oath", "reset", "--force"]).ok();
    assert_eq!(hwtool(&["oath", "list"]).ok().stdout, "");
}

#[test]
fn a_password_protects_the_applet() {
    let s = session();
    hwtool(&["oath", "add", "acct", &b32(RFC_KEY)]).ok();
    hwtool(&["oath", "password", "s3cret"]).ok();
    assert!(s.key().oath.password_key.is_some());
    hwtool(&["oath", "list"]).failed_with("password protected");
    hwtool(&["oath", "--password", "wrong", "list"]).failed_with("wrong OATH password");
    assert_eq!(
        hwtool(&["oath", "--password", "s3cret", "list"])
            .ok()
            .stdout,
        "acct\tTOTP\tSHA1\n"
    );
    let env = hwtool_env(
        &["oath", "code", "acct", "--timestamp", "59"],
        &[("TESSERA_OATH_PASSWORD", "s3cret")],
    );
    assert_eq!(
        env.ok().stdout,
        format!("acct\t{}\n", oathtool(&["--totp"], 6, 30, 59, RFC_KEY))
    );
    hwtool(&["oath", "--password", "s3cret", "password", "--clear"]).ok();
    assert_eq!(hwtool(&["oath", "list"]).ok().stdout, "acct\tTOTP\tSHA1\n");
    // Reset works without the password (that is how a forgotten password is recovered).
    hwtool(&["oath", "password", "again"]).ok();
    hwtool(&["oath", "reset", "--force"]).ok();
    assert!(s.key().oath.password_key.is_none());
}
